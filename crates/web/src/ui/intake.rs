//! The operator's intake screen (受理): the caller's number and earlier tickets, the request form
//! with category suggestions as the operator types, and two endings — answered on the call (直办)
//! or created for dispatch. The script submits it without a page reload; without the script the
//! form still works and lands on the new ticket.

use std::sync::Arc;

use app::App;
use app::tickets::NewTicketInput;
use app::views::TicketView;
use app::workstation::CategorySuggestion;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::ids::{CategoryCode, TierCode};
use domain::privacy::Contact;
use domain::ticket::{Channel, RequestKind};
use serde::Deserialize;

use super::page::{Chrome, UiError, UiResult, render};
use super::session::Viewer;

const KINDS: [RequestKind; 6] = [
    RequestKind::Consultation,
    RequestKind::Help,
    RequestKind::Complaint,
    RequestKind::Report,
    RequestKind::Suggestion,
    RequestKind::Praise,
];

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "intake.html")]
struct IntakePage {
    c: Chrome,
    kinds: Vec<Choice>,
    tiers: Vec<Choice>,
    /// The intake this screen handles: caller lookups name it.
    intake: String,
}

pub async fn page(State(app): State<Arc<App>>, viewer: Viewer) -> UiResult<Response> {
    domain::permission::require(&viewer.actor, domain::permission::Action::Receive, None)?;
    let registry = app.registry();
    let lang = viewer.lang;
    let kinds = KINDS
        .iter()
        .map(|k| Choice {
            value: serde_plain(k),
            label: lang.kind(*k).to_owned(),
            selected: *k == RequestKind::Help,
        })
        .collect();
    let tiers = registry
        .rules
        .policy
        .tiers
        .iter()
        .map(|tier| Choice {
            value: tier.code.to_string(),
            label: match lang {
                super::i18n::Lang::Zh => tier.name_zh.clone(),
                super::i18n::Lang::En => tier.name_en.clone(),
            },
            selected: tier.code.as_str() == "general",
        })
        .collect();
    let zone = registry.rules.calendar.zone().clone();
    let c = Chrome::new(&viewer, zone, "/intake", viewer.lang.t().nav_intake);
    let intake = app.open_intake(&viewer.actor, app.now())?;
    Ok(render(&IntakePage {
        c,
        kinds,
        tiers,
        intake,
    }))
}

#[derive(Deserialize)]
pub struct IntakeForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    name: String,
    kind: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    address: String,
    description: String,
    #[serde(default)]
    confidential: Option<String>,
    #[serde(default)]
    answer: String,
    /// `dispatch` or `answer`: which button ended the call.
    ending: String,
}

#[derive(serde::Serialize)]
struct Created {
    no: String,
    no_grouped: String,
    status: String,
    url: String,
    /// The intake for the next call: the form is reset for it.
    next_intake: String,
}

pub async fn create(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<IntakeForm>,
) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    match receive(&app, &viewer, form).await {
        Ok(view) => {
            let url = format!("/tickets/{}", view.no);
            if wants_json {
                let next_intake = match app.open_intake(&viewer.actor, app.now()) {
                    Ok(id) => id,
                    Err(e) => return UiError::from(e).with_lang(viewer.lang).into_response(),
                };
                let body = Created {
                    status: viewer.lang.status(view.status).to_owned(),
                    no: view.no,
                    no_grouped: view.no_grouped,
                    url,
                    next_intake,
                };
                (StatusCode::CREATED, axum::Json(body)).into_response()
            } else {
                Redirect::to(&url).into_response()
            }
        }
        Err(e) if wants_json => {
            let body = serde_json::json!({ "error": { "message": e.message() } });
            (e.status(), axum::Json(body)).into_response()
        }
        Err(e) => e.with_lang(viewer.lang).into_response(),
    }
}

async fn receive(app: &App, viewer: &Viewer, form: IntakeForm) -> UiResult<TicketView> {
    let kind: RequestKind = form.kind.parse()?;
    if form.category.trim().is_empty() {
        return Err(UiError::bad_request(
            "choose a category: type a few words in the category field and pick one",
        ));
    }
    let category = CategoryCode::parse(form.category.trim())?;
    let urgency = match form.urgency.trim() {
        "" => None,
        code => Some(TierCode::parse(code)?),
    };
    let contact = Contact::new(Some(&form.name), Some(&form.phone), None)?;
    let answer_on_call = match form.ending.as_str() {
        "answer" => {
            if form.answer.trim().is_empty() {
                return Err(UiError::bad_request(
                    "write the answer given on the call, or create the ticket for dispatch",
                ));
            }
            Some(form.answer)
        }
        _ => None,
    };
    let input = NewTicketInput {
        channel: Channel::Phone,
        kind,
        urgency,
        category,
        title: None,
        description: form.description,
        address: form.address,
        division: None,
        coordinates: None,
        confidential: form.confidential.is_some(),
        contact,
        answer_on_call,
        attributes: Default::default(),
        media_url: None,
        citizen_code: None,
        public: false,
        photo: None,
    };
    Ok(app.receive(&viewer.actor, app.now(), input).await?)
}

/// A lookup as the intake screen posts it: the number in the body, never in a URL.
#[derive(Deserialize)]
pub struct HistoryForm {
    phone: String,
    intake: String,
}

#[derive(Template)]
#[template(path = "caller_history.html")]
struct HistoryFragment {
    c: Chrome,
    tickets: Vec<TicketView>,
    confidential: u32,
}

#[derive(Template)]
#[template(
    source = r#"<p class="error" id="history-refused" role="alert">{{ message }}</p>"#,
    ext = "html"
)]
struct HistoryRefused<'a> {
    message: &'a str,
}

/// The caller's earlier tickets, as a fragment the intake screen places beside the form. The
/// lookup is recorded with the intake; past the budget the refusal is recorded and its reason
/// shown in the fragment's place.
pub async fn history(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Form(form): Form<HistoryForm>,
) -> Response {
    let history = app
        .caller_history(&viewer.actor, app.now(), form.phone.trim(), &form.intake)
        .await;
    match history {
        Ok(history) => {
            let zone = app.registry().rules.calendar.zone().clone();
            let c = Chrome::new(&viewer, zone, "/intake", "");
            render(&HistoryFragment {
                c,
                tickets: history.tickets,
                confidential: history.confidential,
            })
        }
        Err(e) => {
            let e = UiError::from(e);
            let status = e.status();
            let mut response = render(&HistoryRefused {
                message: e.message(),
            });
            *response.status_mut() = status;
            response
        }
    }
}

#[derive(Deserialize)]
pub struct SuggestQuery {
    q: String,
}

pub async fn categories(
    State(app): State<Arc<App>>,
    _viewer: Viewer,
    Query(q): Query<SuggestQuery>,
) -> axum::Json<Vec<CategorySuggestion>> {
    axum::Json(app.suggest_categories(&q.q, 8))
}

/// The serde name of a unit-like enum (`complaint`).
pub fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
