//! The citizen page (市民自助, `/citizen`): no login, Simplified Chinese, built for a phone
//! screen. Submit a request, keep the number and private code from the receipt, follow it, and
//! rate the reply. Forms carry a token bound to a short-lived cookie instead of a session; the
//! submission is multipart (for the photo), so its token rides in the action's query string.

use std::sync::Arc;

use app::App;
use app::citizen::{CitizenRequest, CitizenView, Rating};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::ticket::{Satisfaction, Status};
use jiff::Timestamp;

use super::form::{Fields, checked, field};
use super::page::{UiError, render};
use super::session::{anonymous_form, with_cookie};

pub struct Group {
    pub name: String,
    /// `(code, name)` of its leaf categories.
    pub options: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "citizen_form.html")]
struct FormPage {
    csrf: String,
    groups: Vec<Group>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "citizen_receipt.html")]
struct ReceiptPage {
    csrf: String,
    no: String,
    no_grouped: String,
    code: String,
}

#[derive(Template)]
#[template(path = "citizen_track.html")]
struct TrackPage {
    csrf: String,
    no: String,
    code: String,
    error: Option<String>,
    view: Option<ViewRows>,
}

/// A request as the citizen page shows it.
pub struct ViewRows {
    pub no_grouped: String,
    pub status: &'static str,
    pub category: String,
    pub address: String,
    pub description: String,
    pub steps: Vec<(String, String)>,
    pub reply: Option<String>,
    pub can_rate: bool,
}

/// Renders a page whose forms need the anonymous form token, with its cookie.
fn with_form<T: Template>(
    headers: &HeaderMap,
    status: StatusCode,
    page: impl FnOnce(String) -> T,
) -> Response {
    match anonymous_form(headers) {
        Ok((token, cookie)) => with_cookie((status, render(&page(token))).into_response(), cookie),
        Err(e) => e.into_response(),
    }
}

fn groups(app: &App) -> Vec<Group> {
    let registry = app.registry();
    registry
        .categories
        .values()
        .filter(|c| c.level() == 1)
        .map(|top| Group {
            name: top.name.clone(),
            options: registry
                .categories
                .values()
                .filter(|c| c.level() == 3 && c.code.as_str().starts_with(top.code.as_str()))
                .map(|c| {
                    let parent = c
                        .code
                        .parent()
                        .and_then(|p| registry.categories.get(&p))
                        .map(|p| p.name.as_str())
                        .unwrap_or("");
                    (c.code.to_string(), format!("{parent} · {}", c.name))
                })
                .collect(),
        })
        .collect()
}

pub async fn form(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let groups = groups(&app);
    with_form(&headers, StatusCode::OK, |csrf| FormPage {
        csrf,
        groups,
        error: None,
    })
}

/// The form as it arrives: multipart, for the photo.
#[derive(Default)]
struct Submitted {
    fields: Fields,
    photo: Option<Vec<u8>>,
}

async fn read_form(mut multipart: Multipart) -> Result<Submitted, UiError> {
    let mut form = Submitted::default();
    let bad = |e: axum::extract::multipart::MultipartError| {
        UiError::new(
            e.status(),
            format!("the form could not be read: {}", e.body_text()),
        )
    };
    while let Some(part) = multipart.next_field().await.map_err(bad)? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "photo" {
            let bytes = part.bytes().await.map_err(bad)?;
            if !bytes.is_empty() {
                form.photo = Some(bytes.to_vec());
            }
        } else {
            let text = part.text().await.map_err(bad)?;
            form.fields.push((name, text));
        }
    }
    Ok(form)
}

/// No one address may flood the page: past `CITIZEN_SUBMISSIONS_PER_HOUR` submissions an hour,
/// the form says to wait (429).
pub async fn limit_per_address(
    State(limit): State<Arc<crate::limit::RateLimit>>,
    crate::extract::ClientAddress(address): crate::extract::ClientAddress,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if limit.allow(&address.to_string(), std::time::Instant::now()) {
        next.run(request).await
    } else {
        UiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "本地址一小时内已提交 {} 件诉求，请稍后再试，或拨打 12345。Too many submissions from this address; try again later or call 12345.",
                limit.limit()
            ),
        )
        .into_response()
    }
}

pub async fn submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let result = match read_form(multipart).await {
        Ok(Submitted { fields: f, photo }) => {
            let request = CitizenRequest {
                category: field(&f, "category").to_owned(),
                address: field(&f, "address").to_owned(),
                description: field(&f, "description").to_owned(),
                confidential: checked(&f, "confidential"),
                public: checked(&f, "public"),
                name: Some(field(&f, "name").to_owned()).filter(|n| !n.trim().is_empty()),
                phone: Some(field(&f, "phone").to_owned()).filter(|p| !p.trim().is_empty()),
                photo,
            };
            app.citizen_submit(app.now(), request)
                .await
                .map_err(UiError::from)
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(receipt) => with_form(&headers, StatusCode::OK, |csrf| ReceiptPage {
            csrf,
            no: receipt.no,
            no_grouped: receipt.no_grouped,
            code: receipt.code,
        }),
        Err(e) => {
            let (status, message) = (e.status(), plain(&e));
            let groups = groups(&app);
            with_form(&headers, status, |csrf| FormPage {
                csrf,
                groups,
                error: Some(message),
            })
        }
    }
}

pub async fn track_form(headers: HeaderMap) -> Response {
    with_form(&headers, StatusCode::OK, |csrf| TrackPage {
        csrf,
        no: String::new(),
        code: String::new(),
        error: None,
        view: None,
    })
}

pub async fn track(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let (no, code) = (
        field(&f, "no").trim().to_owned(),
        field(&f, "code").trim().to_owned(),
    );
    let result = app.citizen_view(&no, &code).await;
    tracked(&app, &headers, no, code, result)
}

pub async fn rate(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let (no, code) = (
        field(&f, "no").trim().to_owned(),
        field(&f, "code").trim().to_owned(),
    );
    let rating = match field(&f, "rating") {
        "satisfied" => Some(Rating::Solved(Satisfaction::Satisfied)),
        "basically" => Some(Rating::Solved(Satisfaction::BasicallySatisfied)),
        "dissatisfied" => Some(Rating::Solved(Satisfaction::Dissatisfied)),
        "not_solved" => Some(Rating::NotSolved),
        _ => None,
    };
    let result = match rating {
        Some(rating) => {
            app.citizen_rate(app.now(), &no, &code, rating, checked(&f, "contacted"))
                .await
        }
        None => Err(app::AppError::Refused(domain::DomainError::invalid(
            "rating",
            "choose one of the answers",
        ))),
    };
    tracked(&app, &headers, no, code, result)
}

fn tracked(
    app: &App,
    headers: &HeaderMap,
    no: String,
    code: String,
    result: app::AppResult<CitizenView>,
) -> Response {
    let zone = app.registry().rules.calendar.zone().clone();
    let time = |t: Timestamp| {
        t.to_zoned_datetime(zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    let (status, view, error) = match result {
        Ok(v) => (
            StatusCode::OK,
            Some(ViewRows {
                no_grouped: v.no_grouped,
                status: plain_status(v.status),
                category: v.category,
                address: v.address,
                description: v.description,
                steps: v.steps.into_iter().map(|(at, s)| (time(at), s)).collect(),
                reply: v.reply,
                can_rate: v.can_rate,
            }),
            None,
        ),
        Err(e) => {
            let e = UiError::from(e);
            (e.status(), None, Some(plain(&e)))
        }
    };
    with_form(headers, status, |csrf| TrackPage {
        csrf,
        no,
        code,
        error,
        view,
    })
}

/// Where a request stands, as a citizen would say it.
fn plain_status(status: Status) -> &'static str {
    match status {
        Status::PendingDispatch => "已受理，正在安排承办单位",
        Status::Dispatched | Status::ReturnRequested => "已交承办单位",
        Status::InProgress => "承办单位正在办理",
        Status::Replied => "承办单位已答复，请您评价",
        Status::Closed => "已办结",
        Status::Merged => "已与同一事项的其他诉求合并办理",
        Status::HandedOff => "已转交 110/119/120/122 处理",
    }
}

/// A message for a citizen: the domain's wording is for staff, so the common cases get plain
/// Chinese and the rest keep their detail.
fn plain(e: &UiError) -> String {
    match e.status() {
        StatusCode::NOT_FOUND => {
            "没有找到这个工单号和查询码对应的诉求，请核对回执上的两项。".into()
        }
        StatusCode::CONFLICT => "这条诉求目前没有等待您评价的答复。".into(),
        _ => format!("提交未成功，请检查填写内容：{}", e.message()),
    }
}
