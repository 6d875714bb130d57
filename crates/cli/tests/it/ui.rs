//! The workstation's pages over HTTP, as a browser without a script sees them: the dispatcher's
//! queue, the same permission walls as the API, the dashboard's CSV, and an administrator's user
//! form. Sessions and their defences are in `sessions.rs`; the browser tests (tests/browser) drive
//! the same pages in Chromium.

use reqwest::StatusCode;
use reqwest::header::COOKIE;
use testkit::{TestApp, street_light};

use crate::browser::{Browser, hidden};

testkit::on_both_backends!(
    pages_keep_the_api_permission_walls,
    the_dashboard_tables_download_as_csv,
    an_administrator_creates_a_user_who_can_log_in,
    the_dispatcher_sees_the_ticket_waiting_longest_when_more_wait_than_a_page_holds,
);

async fn the_dispatcher_sees_the_ticket_waiting_longest_when_more_wait_than_a_page_holds(
    t: TestApp,
) {
    let operator = t.login("operator").await;
    let mut received = Vec::new();
    for i in 0..201 {
        let phone = format!("139{:08}", 10_000 + i);
        received.push(
            t.create_ticket(&operator, testkit::street_light(&phone))
                .await,
        );
    }
    let mut b = Browser::new(&t);
    b.login("dispatcher", "/dispatch").await;
    let (status, page, _) = b.get("/dispatch").await;
    assert_eq!(status, 200);
    let new_queue = page.split("id=\"returns\"").next().unwrap();
    let first = new_queue
        .find(&received[0])
        .expect("the ticket waiting longest is shown");
    let second = new_queue.find(&received[1]).expect("and the next");
    assert!(first < second, "the longest waiting comes first");
    assert!(
        !new_queue.contains(&received[200]),
        "the 201st waits beyond the page of 200"
    );
}

async fn pages_keep_the_api_permission_walls(t: TestApp) {
    let operator = t.login("operator").await;
    let dispatcher = t.login("dispatcher").await;
    let no = t
        .create_ticket(&operator, street_light("13800005678"))
        .await;
    t.act(
        &dispatcher,
        &no,
        "dispatch",
        serde_json::json!({"lead": "cgj"}),
    )
    .await;

    let mut own = Browser::new(&t);
    own.login("h-cgj", "").await;
    let (status, page, _) = own.get(&format!("/tickets/{no}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("签收"), "the lead unit is offered signing");

    let mut other = Browser::new(&t);
    other.login("h-jtj", "").await;
    let (status, page, _) = other.get(&format!("/tickets/{no}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        !page.contains("幸福路12号"),
        "nothing of the ticket is shown"
    );
    assert!(
        page.contains("您的岗位无权进行此操作"),
        "the refusal is said in Chinese: {page}"
    );
    // Signing twice: the second is refused for the ticket's state, said in Chinese too.
    let csrf = own.csrf().await;
    let sign = format!("/tickets/{no}/act/sign");
    own.post(&sign, &[("_csrf", &csrf)]).await;
    let csrf = own.csrf().await;
    let (status, page, _) = own.post(&sign, &[("_csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("工单当前的状态不允许此操作"), "{page}");
    let (status, _, _) = other.get("/dispatch").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a unit has no dispatch desk");
    let csrf = other.csrf().await;
    let (status, _, _) = other
        .post(&format!("/tickets/{no}/act/sign"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "nor can it sign another unit's ticket"
    );
    let (status, _, _) = other.get("/admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn the_dashboard_tables_download_as_csv(t: TestApp) {
    let mut b = Browser::new(&t);
    b.login("supervisor", "").await;
    let response = b
        .client
        .get(format!("{}/dashboard/channels.csv?month=2026-11", t.base))
        .header(COOKIE, b.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains("minsheng-channels-2026-11.csv"),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(
        &bytes[..3],
        &[0xEF, 0xBB, 0xBF],
        "a byte-order mark for spreadsheets"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("渠道,数量"), "{text}");
    let (status, _, _) = b.get("/dashboard/nothing.csv").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn an_administrator_creates_a_user_who_can_log_in(t: TestApp) {
    let mut admin = Browser::new(&t);
    admin.login("admin", "").await;
    let csrf = admin.csrf().await;
    let (status, page, _) = admin
        .post(
            "/admin/users",
            &[
                ("_csrf", &csrf),
                ("id", "new-operator"),
                ("name", "新坐席"),
                ("affiliation", "contractor"),
                ("roles", "operator"),
                ("password", "a-long-password"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let (_, page, _) = admin.get("/admin").await;
    assert!(page.contains("新坐席"));
    assert!(
        page.contains("待督办审批"),
        "the operator role waits for a supervisor"
    );

    // Until a supervisor approves, the account sees no tickets.
    let mut newcomer = Browser::new(&t);
    let (_, page, _) = newcomer.get("/login").await;
    let login_csrf = hidden(&page, "_csrf");
    let (status, _, location) = newcomer
        .post(
            "/login",
            &[
                ("_csrf", &login_csrf),
                ("username", "new-operator"),
                ("password", "a-long-password"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_ne!(location.as_deref(), Some("/intake"));
    assert_eq!(newcomer.get("/intake").await.0, StatusCode::FORBIDDEN);

    // Nor can the administrator make themselves a supervisor.
    let (status, page, _) = admin
        .post(
            "/admin/users/admin",
            &[
                ("_csrf", &csrf),
                ("roles", "admin"),
                ("roles", "supervisor"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(admin.get("/privacy").await.0, StatusCode::FORBIDDEN);

    let mut supervisor = Browser::new(&t);
    supervisor.login("supervisor", "").await;
    let (_, privacy, _) = supervisor.get("/privacy").await;
    assert!(privacy.contains("new-operator") && privacy.contains("approve-admin"));
    let supervisor_csrf = supervisor.csrf().await;
    let (status, _, _) = supervisor
        .post(
            "/privacy/roles/new-operator",
            &[("_csrf", &supervisor_csrf), ("approve", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = supervisor
        .post(
            "/privacy/roles/admin",
            &[("_csrf", &supervisor_csrf), ("approve", "0")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(newcomer.get("/intake").await.0, StatusCode::OK);
    assert_eq!(admin.get("/privacy").await.0, StatusCode::FORBIDDEN);
    let (_, privacy, _) = supervisor.get("/privacy").await;
    assert!(
        privacy.contains("批准角色：话务员") && privacy.contains("驳回角色：督办人员"),
        "both decisions are listed"
    );

    // A bad form is refused with a message and creates nothing.
    let (status, page, _) = admin
        .post(
            "/admin/users",
            &[
                ("_csrf", &csrf),
                ("id", "Bad Name!"),
                ("name", "x"),
                ("affiliation", "centre"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
}
