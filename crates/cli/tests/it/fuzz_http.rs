//! Outside input over HTTP, fuzzed: random Open311 queries and submissions and random citizen
//! forms with random photo bytes (behind real image headers) reach the real server; every answer
//! must be a decision — a success or a 4xx/503 with a message — never a 500 (a panic is caught
//! and answered 500), and the server must still answer afterwards. Brief by design (the rate
//! limits cap how many a test may send); the parsers underneath are fuzzed at length in
//! `crates/domain/tests/fuzz.rs`.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::StatusCode;
use testkit::TestApp;

use crate::open311::{channel_key, get, post};

const FIELDS: &[&str] = &[
    "api_key",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
    "public",
    "attribute[noise_periods][]",
    "attribute[nights_per_week]",
    "attribute[",
    "jurisdiction_id",
    "start_date",
    "end_date",
    "status",
    "page",
    "page_size",
    "service_request_id",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9.\\-eE+]{0,12}",
        Just("040201".to_owned()),
        Just("2026-13-45T99:00:00Z".to_owned()),
        Just("NaN".to_owned()),
        Just("1e400".to_owned()),
        "[一-龥a-z0-9 ]{0,30}",
    ]
}

fn form() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(FIELDS).prop_map(str::to_owned),
            value(),
        ),
        0..10,
    )
}

/// `count` samples of `strategy`.
fn samples<S: Strategy>(strategy: S, count: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::default();
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

fn assert_decided(what: &str, status: StatusCode, body: &str) {
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{what} answered {status}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_outside_input_never_breaks_the_server() {
    let t = TestApp::spawn().await;
    let key = channel_key(&t).await;

    for fields in samples(form(), 40) {
        let mut url = reqwest::Url::parse("http://fuzz.invalid/").unwrap();
        url.query_pairs_mut().extend_pairs(&fields);
        let query = url.query().unwrap_or_default().to_owned();
        for path in ["requests.json", "requests.xml", "services.json"] {
            let (status, _, body) = get(&t, &format!("{path}?{query}")).await;
            assert_decided(&format!("GET {path}?{query}"), status, &body);
        }
    }

    for mut fields in samples(form(), 40) {
        fields.insert(0, ("api_key".into(), key.clone()));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, body) = post(&t, "requests.json", &pairs).await;
        assert_decided(&format!("POST requests.json {fields:?}"), status, &body);
    }

    let photo = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec(any::<u8>(), 0..512).prop_map(|tail| [
            &b"\xff\xd8\xff\xe1\x00\x10Exif\0\0"[..],
            &tail
        ]
        .concat()),
        prop::collection::vec(any::<u8>(), 0..512).prop_map(|tail| [
            &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..],
            &tail
        ]
        .concat()),
    ];
    // The citizen page takes ten submissions an hour from one address.
    for (fields, bytes) in samples((form(), proptest::option::of(photo)), 9) {
        let mut visitor = crate::citizen::Visitor::new(&t);
        let (_, page) = visitor.get("/citizen").await;
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, body) = visitor.submit(&page, &pairs, bytes.clone()).await;
        assert_decided(
            &format!(
                "the citizen form {fields:?} with {:?} photo bytes",
                bytes.map(|b| b.len())
            ),
            status,
            &body,
        );
    }

    let (status, _) = t.get(None, "/healthz").await;
    assert_eq!(status, 200);
    t.stop().await;
}
