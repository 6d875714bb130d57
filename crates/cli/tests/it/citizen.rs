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
    a_photo_is_checked_sealed_and_shown_only_to_those_who_may_see_the_ticket,
    only_what_the_citizen_agreed_to_publish_is_public_and_one_address_cannot_flood,
    the_photo_quota_and_a_nearly_full_disk_refuse_before_anything_is_written,
);

async fn the_photo_quota_and_a_nearly_full_disk_refuse_before_anything_is_written(t: TestApp) {
    let console = domain::org::Actor::system("cli");
    let set = |quota_mb: u64, reserve_mb: u64| {
        let t = &t;
        let console = console.clone();
        async move {
            let mut policy = t.app.registry().rules.policy.clone();
            policy.storage.photo_quota_mb = quota_mb;
            policy.storage.disk_reserve_mb = reserve_mb;
            t.app
                .set_policy(&console, t.app.now(), policy)
                .await
                .unwrap();
        }
    };
    let fields = [
        ("category", "030503"),
        ("address", "幸福路12号"),
        ("description", "井盖松动"),
    ];
    let mut v = Visitor::new(&t);

    // No room left for photos: a photo is refused, the same request without one is taken.
    set(0, 0).await;
    let head = t.store.audit_head().await.unwrap();
    let (_, form) = v.get("/citizen").await;
    let (status, page) = v.submit(&form, &fields, Some(png())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert!(page.contains("without one"), "{page}");
    assert_eq!(
        t.store.audit_head().await.unwrap(),
        head,
        "nothing was written"
    );
    let (status, _) = v.submit(&form, &fields, None).await;
    assert_eq!(status, StatusCode::OK);

    // The disk below its reserve: the web takes nothing new; staff still record calls. Only the
    // embedded database's disk is this server's to watch; PostgreSQL's is its own server's.
    if t.backend != testkit::Backend::Sqlite {
        return;
    }
    set(20 * 1024, u64::MAX / (1024 * 1024)).await;
    let (_, form) = v.get("/citizen").await;
    let (status, page) = v.submit(&form, &fields, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert!(page.contains("12345"), "{page}");
    let operator = t.login("operator").await;
    t.create_ticket(&operator, testkit::street_light("13800001111"))
        .await;
}

async fn only_what_the_citizen_agreed_to_publish_is_public_and_one_address_cannot_flood(
    t: TestApp,
) {
    let mut v = Visitor::new(&t);
    let (_, form) = v.get("/citizen").await;
    assert!(form.contains("同意公开"), "the form asks for consent");
    let mut numbers = Vec::new();
    for public in [true, false] {
        let mut fields = vec![
            ("category", "030503"),
            ("address", "湖滨街道幸福路12号"),
            ("description", "井盖松动，晚上看不见"),
        ];
        if public {
            fields.push(("public", "1"));
        }
        let (status, receipt) = v.submit(&form, &fields, None).await;
        assert_eq!(status, StatusCode::OK, "{receipt}");
        numbers.push(hidden_no(&receipt));
    }
    let read = |no: String| {
        let t = &t;
        async move {
            let url = format!("{}/open311/v2/requests/{no}.json", t.base);
            let body: serde_json::Value = t
                .client
                .get(url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body[0].clone()
        }
    };
    let published = read(numbers[0].clone()).await;
    assert_eq!(published["description"], "井盖松动，晚上看不见");
    assert_eq!(published["address"], "湖滨街道幸福路12号");
    let withheld = read(numbers[1].clone()).await;
    assert_eq!(
        withheld["description"],
        serde_json::Value::Null,
        "{withheld}"
    );
    assert!(!withheld.to_string().contains("幸福路12号"), "{withheld}");

    // Ten submissions an hour from one address; the eleventh is told to wait.
    let fields = [
        ("category", "030503"),
        ("address", "幸福路"),
        ("description", "测试"),
    ];
    let mut last = StatusCode::OK;
    for _ in 0..9 {
        let (_, form) = v.get("/citizen").await;
        last = v.submit(&form, &fields, None).await.0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

/// A browser without a session: keeps the form cookie, posts forms with their token.
pub(crate) struct Visitor<'a> {
    t: &'a TestApp,
    client: reqwest::Client,
    cookie: String,
}

impl<'a> Visitor<'a> {
    pub(crate) fn new(t: &'a TestApp) -> Self {
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

    pub(crate) async fn get(&mut self, path: &str) -> (StatusCode, String) {
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

impl Visitor<'_> {
    /// Submits the citizen form (multipart, its token in the action) with an optional photo.
    pub(crate) async fn submit(
        &mut self,
        form_page: &str,
        fields: &[(&str, &str)],
        photo: Option<Vec<u8>>,
    ) -> (StatusCode, String) {
        let token = hidden_token(form_page);
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        if let Some(bytes) = photo {
            form = form.part(
                "photo",
                reqwest::multipart::Part::bytes(bytes).file_name("photo.png"),
            );
        }
        let response = self
            .client
            .post(format!("{}/citizen/submit?_csrf={token}", self.t.base))
            .header(COOKIE, &self.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.page(response).await
    }
}

/// The token in the upload form's action.
fn hidden_token(form_page: &str) -> String {
    let marker = "action=\"/citizen/submit?_csrf=";
    let start = form_page
        .find(marker)
        .unwrap_or_else(|| panic!("no upload form in {form_page}"))
        + marker.len();
    form_page[start..].split('"').next().unwrap().to_owned()
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
        .submit(
            &form,
            &[
                ("category", "030503"),
                ("address", "东湖区湖滨街道幸福路12号"),
                ("description", "人行道井盖松动，晚上很危险"),
                ("name", "赵女士"),
                ("phone", "13612345678"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    let no = hidden_no(&receipt);
    let code = between(&receipt, "receipt-code").to_owned();
    assert_eq!(code.len(), 12);
    (no, code)
}

pub(crate) fn hidden_no(receipt: &str) -> String {
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
        .submit(
            "action=\"/citizen/submit?_csrf=forged\"",
            &[
                ("category", "030503"),
                ("address", "x"),
                ("description", "y"),
            ],
            None,
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
        .submit(
            &form,
            &[
                ("category", ""),
                ("address", "幸福路"),
                ("description", "x"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    assert!(again.contains("form-error"));
}

/// A real 1×1 PNG as a phone might send it: a text chunk naming its owner and address, and a
/// private chunk holding a marker to look for in the database file.
pub(crate) fn png() -> Vec<u8> {
    unhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000002074455874417574686f720057616e67205869616f6d696e672c204275696c64696e672033fe0c54260000001f6d6b526b6d696e7368656e672d70686f746f2d706c61696e746578742d6d61726b6572f8152cb00000000d4944415478da63fccfc0500f000485018084a98c210000000049454e44ae426082",
    )
}

/// The same PNG as staff are served it: the picture and the marker, the owner's text gone.
fn png_without_metadata() -> Vec<u8> {
    unhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000001f6d6b526b6d696e7368656e672d70686f746f2d706c61696e746578742d6d61726b6572f8152cb00000000d4944415478da63fccfc0500f000485018084a98c210000000049454e44ae426082",
    )
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

async fn a_photo_is_checked_sealed_and_shown_only_to_those_who_may_see_the_ticket(t: TestApp) {
    let mut v = Visitor::new(&t);
    let (_, form) = v.get("/citizen").await;
    let fields = [
        ("category", "030503"),
        ("address", "幸福路12号"),
        ("description", "井盖松动"),
    ];
    let (status, receipt) = v.submit(&form, &fields, Some(png())).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    let no = hidden_no(&receipt);

    let dispatcher = t.login("dispatcher").await;
    t.act(&dispatcher, &no, "dispatch", json!({"lead": "cgj"}))
        .await;
    let mut staff = crate::browser::Browser::new(&t);
    staff.login("h-cgj", "").await;
    let response = staff.raw_get(&format!("/tickets/{no}/photo")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        response.bytes().await.unwrap().to_vec(),
        png_without_metadata(),
        "the picture as sent, without the owner's text (metadata is removed before sealing)"
    );
    let supervisor = t.login("supervisor").await;
    let (_, trail) = t
        .get(Some(&supervisor), &format!("/api/v1/tickets/{no}/access"))
        .await;
    assert!(
        trail
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["user"] == "h-cgj" && l["detail"] == "photo"),
        "the photo view is in the ticket's trail: {trail:#}"
    );
    let (_, page, _) = staff.get(&format!("/tickets/{no}")).await;
    assert!(page.contains("id=\"photo\""), "the ticket page shows it");
    let mut other = crate::browser::Browser::new(&t);
    other.login("h-jtj", "").await;
    assert_eq!(
        other
            .raw_get(&format!("/tickets/{no}/photo"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        Visitor::new(&t)
            .get(&format!("/tickets/{no}/photo"))
            .await
            .0,
        StatusCode::SEE_OTHER,
        "not public"
    );

    if t.backend == testkit::Backend::Sqlite {
        let _ = t.store.audit_head().await;
        let raw = std::fs::read(t.db_path()).unwrap_or_default();
        let wal = std::fs::read(t.db_path().with_extension("db-wal")).unwrap_or_default();
        let marker = b"minsheng-photo-plaintext-marker";
        for file in [&raw, &wal] {
            assert!(
                !file.windows(marker.len()).any(|w| w == marker),
                "the photo is stored sealed"
            );
        }
    }

    let (status, refused) = v
        .submit(&form, &fields, Some(b"<svg onload=alert(1)>".to_vec()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("JPEG, PNG or WebP"), "{refused}");
    let mut big = png();
    big.resize(5 * 1024 * 1024 + 10, 0);
    let (status, refused) = v.submit(&form, &fields, Some(big)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("5 MB"), "{refused}");
    // Over the upload limit: refused from its declared length, before it is read (the server
    // may answer 413 while the client is still sending, which then sees the connection close).
    let before = t.store.audit_head().await.unwrap();
    let mut huge = png();
    huge.resize(7 * 1024 * 1024, 0);
    let form_data = reqwest::multipart::Form::new()
        .text("category", "030503")
        .part(
            "photo",
            reqwest::multipart::Part::bytes(huge).file_name("big.png"),
        );
    let token = hidden_token(&form);
    let sent = v
        .client
        .post(format!("{}/citizen/submit?_csrf={token}", t.base))
        .header(COOKIE, &v.cookie)
        .multipart(form_data)
        .send()
        .await;
    if let Ok(response) = sent {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(
        t.store.audit_head().await.unwrap(),
        before,
        "nothing was recorded"
    );
}
