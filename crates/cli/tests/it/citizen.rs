//! The citizen page over HTTP: a request submitted without an account, followed with its number
//! and code (and not with a wrong code), rated once the unit replied — the rating closes or
//! reopens the ticket exactly as a call-back would — and forms refused without their token.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;
use testkit::TestApp;

testkit::on_both_backends!(
    a_citizen_submits_follows_and_rates_without_an_account,
    the_number_without_its_code_shows_nothing,
);

/// A browser without a session: keeps the form cookie, posts forms with their token.
struct Visitor<'a> {
    t: &'a TestApp,
    client: reqwest::Client,
    cookie: String,
}

impl<'a> Visitor<'a> {
    fn new(t: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            t,
            client,
            cookie: String::new(),
        }
    }

    async fn page(&mut self, response: reqwest::Response) -> (StatusCode, String) {
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let set = set.to_str().unwrap();
            self.cookie = set.split(';').next().unwrap().to_owned();
        }
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.t.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        self.page(response).await
    }

    /// Posts a form with the token of the page it came from.
    async fn post(
        &mut self,
        from: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let token = hidden(from, "_csrf");
        let mut fields = vec![("_csrf", token.as_str())];
        fields.extend_from_slice(form);
        let response = self
            .client
            .post(format!("{}{path}", self.t.base))
            .header(COOKIE, &self.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap();
        self.page(response).await
    }
}

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

fn between<'p>(page: &'p str, id: &str) -> &'p str {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let text = &page[start..];
    let open = text.find('>').unwrap() + 1;
    let close = text[open..].find('<').unwrap() + open;
    &text[open..close]
}

async fn submitted(v: &mut Visitor<'_>) -> (String, String) {
    let (status, form) = v.get("/citizen").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains("<optgroup label=\"城乡建设\">"),
        "categories are grouped"
    );
    let (status, receipt) = v
        .post(
            &form,
            "/citizen",
            &[
                ("category", "030503"),
                ("address", "东湖区湖滨街道幸福路12号"),
                ("description", "人行道井盖松动，晚上很危险"),
                ("name", "赵女士"),
                ("phone", "13612345678"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    let no = hidden_no(&receipt);
    let code = between(&receipt, "receipt-code").to_owned();
    assert_eq!(code.len(), 12);
    (no, code)
}

fn hidden_no(receipt: &str) -> String {
    let marker = "data-no=\"";
    let start = receipt.find(marker).unwrap() + marker.len();
    receipt[start..].split('"').next().unwrap().to_owned()
}

async fn a_citizen_submits_follows_and_rates_without_an_account(t: TestApp) {
    let mut v = Visitor::new(&t);
    let (no, code) = submitted(&mut v).await;

    let dispatcher = t.login("dispatcher").await;
    let (_, ticket) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(ticket["channel"], "web");
    assert_eq!(ticket["received_by"], "system:citizen-web");
    assert_eq!(
        ticket["contact"]["phone"], "136****5678",
        "the contact is sealed and masked"
    );

    let (_, page) = v.get("/citizen/track").await;
    let (status, tracked) = v
        .post(&page, "/citizen/track", &[("no", &no), ("code", &code)])
        .await;
    assert_eq!(status, StatusCode::OK, "{tracked}");
    assert_eq!(
        between(&tracked, "plain-status"),
        "已受理，正在安排承办单位"
    );
    assert!(!tracked.contains("rate-h"), "nothing to rate yet");
    let (status, refused) = v
        .post(
            &tracked,
            "/citizen/rate",
            &[("no", &no), ("code", &code), ("rating", "satisfied")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");

    let handler = t.login("h-cgj").await;
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;
    t.act(&handler, &no, "sign", json!({})).await;
    t.act(
        &handler,
        &no,
        "reply",
        json!({"result": "已更换井盖", "claim": "solved"}),
    )
    .await;
    let (_, tracked) = v
        .post(
            &page,
            "/citizen/track",
            &[("no", &no), ("code", &code.to_lowercase())],
        )
        .await;
    assert_eq!(
        between(&tracked, "citizen-reply"),
        "已更换井盖",
        "the code works in any case"
    );
    assert!(tracked.contains("rate-h"));

    let (status, reopened) = v
        .post(
            &tracked,
            "/citizen/rate",
            &[
                ("no", &no),
                ("code", &code),
                ("rating", "not_solved"),
                ("contacted", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    assert_eq!(
        between(&reopened, "plain-status"),
        "已交承办单位",
        "not solved: back to the unit"
    );
    t.act(&handler, &no, "sign", json!({})).await;
    t.act(
        &handler,
        &no,
        "reply",
        json!({"result": "已加固", "claim": "solved"}),
    )
    .await;
    let (_, tracked) = v
        .post(&page, "/citizen/track", &[("no", &no), ("code", &code)])
        .await;
    let (_, closed) = v
        .post(
            &tracked,
            "/citizen/rate",
            &[
                ("no", &no),
                ("code", &code),
                ("rating", "satisfied"),
                ("contacted", "1"),
            ],
        )
        .await;
    assert_eq!(between(&closed, "plain-status"), "已办结");
    let (_, ticket) = t
        .get(Some(&dispatcher), &format!("/api/v1/tickets/{no}"))
        .await;
    assert_eq!(
        ticket["closure"]["outcome"], "solved",
        "the rating is the follow-up record"
    );
    assert_eq!(ticket["reopen_count"], 1);

    // A form posted without the page's token (another site) is refused and records nothing.
    let (status, _) = Visitor::new(&t)
        .post(
            "name=\"_csrf\" value=\"forged\"",
            "/citizen",
            &[
                ("category", "030503"),
                ("address", "x"),
                ("description", "y"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn the_number_without_its_code_shows_nothing(t: TestApp) {
    let mut v = Visitor::new(&t);
    let (no, code) = submitted(&mut v).await;
    let (_, page) = v.get("/citizen/track").await;
    let wrong = if code.starts_with('A') {
        "B".repeat(12)
    } else {
        "A".repeat(12)
    };
    for (n, c) in [
        (no.as_str(), wrong.as_str()),
        ("26112699999", code.as_str()),
        (no.as_str(), ""),
    ] {
        let (status, body) = v
            .post(&page, "/citizen/track", &[("no", n), ("code", c)])
            .await;
        assert!(status == StatusCode::NOT_FOUND, "{n} {c}: {status}");
        assert!(body.contains("没有找到"), "{body}");
        for private in ["井盖松动", "赵", "13612345678"] {
            assert!(!body.contains(private), "{private} shown without the code");
        }
    }
    // A bad form comes back with the reason and nothing recorded.
    let (_, form) = v.get("/citizen").await;
    let (status, again) = v
        .post(
            &form,
            "/citizen",
            &[
                ("category", ""),
                ("address", "幸福路"),
                ("description", "x"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    assert!(again.contains("form-error"));
}
