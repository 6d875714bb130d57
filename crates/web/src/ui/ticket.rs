//! The ticket page (工单详情): everything about one ticket, its whole timeline from the audit log,
//! the masked contact with a logged reveal, and the forms for what the viewer may do now.

use std::sync::Arc;

use app::App;
use app::views::TicketView;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::ids::TicketNo;
use domain::permission::{Action, RevealPurpose};
use domain::privacy::Contact;
use serde::Deserialize;

use super::page::{Chrome, UiError, UiResult, countdown, render};
use super::session::Viewer;

/// Which forms to show: exactly what `offered_actions` allows the viewer now.
#[derive(Default)]
pub struct Offers {
    pub dispatch: bool,
    pub answer_on_call: bool,
    pub sign: bool,
    pub request_return: bool,
    pub decide_return: bool,
    pub request_extension: bool,
    pub decide_extension: bool,
    pub urge: bool,
    pub supervise: bool,
    pub reply: bool,
    pub record_follow_up: bool,
    pub merge: bool,
    pub hand_off: bool,
    pub add_note: bool,
    pub reveal: bool,
}

impl Offers {
    fn of(actions: &[Action]) -> Self {
        let has = |a| actions.contains(&a);
        Self {
            dispatch: has(Action::Dispatch),
            answer_on_call: has(Action::AnswerOnCall),
            sign: has(Action::Sign),
            request_return: has(Action::RequestReturn),
            decide_return: has(Action::DecideReturn),
            request_extension: has(Action::RequestExtension),
            decide_extension: has(Action::DecideExtension),
            urge: has(Action::Urge),
            supervise: has(Action::Supervise),
            reply: has(Action::Reply),
            record_follow_up: has(Action::RecordFollowUp),
            merge: has(Action::Merge),
            hand_off: has(Action::HandOff),
            add_note: has(Action::AddNote),
            reveal: has(Action::RevealContact),
        }
    }

    fn any(&self) -> bool {
        let Self {
            dispatch,
            answer_on_call,
            sign,
            request_return,
            decide_return,
            request_extension,
            decide_extension,
            urge,
            supervise,
            reply,
            record_follow_up,
            merge,
            hand_off,
            add_note,
            reveal: _,
        } = *self;
        dispatch
            || answer_on_call
            || sign
            || request_return
            || decide_return
            || request_extension
            || decide_extension
            || urge
            || supervise
            || reply
            || record_follow_up
            || merge
            || hand_off
            || add_note
    }
}

pub struct Line {
    pub when: String,
    pub who: String,
    pub what: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    c: Chrome,
    t: TicketView,
    offers: Offers,
    any_offer: bool,
    due_text: String,
    due_ms: i64,
    timeline: Vec<Line>,
    /// Whether this response shows a reveal (the contact, the numbers in the text, or both).
    revealed: bool,
    revealed_contact: Option<Contact>,
    /// `(field, masked, as written, timeline entry)`.
    revealed_numbers: Vec<(String, String, String, u64)>,
    revealed_seq: u64,
    done: Option<String>,
    urgency: String,
    /// The purposes a reveal may give, as `(value, label)`.
    purposes: Vec<(&'static str, &'static str)>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(no): Path<String>,
    Query(q): Query<Done>,
) -> UiResult<Response> {
    let no = parse_no(&no)?;
    show(&app, &viewer, no, None, q.done).await
}

#[derive(Deserialize)]
pub struct Find {
    no: String,
}

/// The search box in the header: straight to the ticket.
pub async fn find(_viewer: Viewer, Query(q): Query<Find>) -> UiResult<Redirect> {
    let no = parse_no(&q.no)?;
    Ok(Redirect::to(&format!("/tickets/{no}")))
}

#[derive(Deserialize)]
pub struct RevealForm {
    purpose: String,
    reason: String,
}

/// Shows the full contact on this one response (never in a URL or a redirect), after the reveal
/// and its reason are in the audit log.
pub async fn reveal(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(no): Path<String>,
    Form(form): Form<RevealForm>,
) -> UiResult<Response> {
    let no = parse_no(&no)?;
    let purpose: RevealPurpose = form.purpose.parse()?;
    let revealed = app
        .reveal_contact(&viewer.actor, app.now(), no, purpose, form.reason.trim())
        .await
        .map_err(|e| UiError::from(e).with_lang(viewer.lang))?;
    let mut response = show(&app, &viewer, no, Some(revealed), None).await?;
    // The page carries the full contact: no cache may keep it.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn show(
    app: &App,
    viewer: &Viewer,
    no: TicketNo,
    revealed: Option<app::tickets::RevealedContact>,
    done: Option<String>,
) -> UiResult<Response> {
    let now = app.now();
    let app::tickets::TicketPage {
        view: t,
        offers: actions,
        timeline: entries,
    } = app
        .ticket_page(&viewer.actor, now, no)
        .await
        .map_err(|e| UiError::from(e).with_lang(viewer.lang))?;
    let registry = app.registry();
    let c = Chrome::new(
        viewer,
        registry.rules.calendar.zone().clone(),
        "",
        &format!("{} {}", viewer.lang.t().ticket_no, t.no_grouped),
    );
    let timeline = entries
        .iter()
        .map(|e| Line {
            when: c.time(&e.at),
            who: domain::ids::UserId::parse(&e.actor)
                .ok()
                .and_then(|id| registry.users.get(&id))
                .map(|u| u.display_name.clone())
                .unwrap_or_else(|| e.actor.clone()),
            what: viewer.lang.event(&e.kind),
            details: summarise(&e.details, &c),
        })
        .collect();
    let offers = Offers::of(&actions);
    let (due_text, due_ms) = match t.due_at {
        Some(due) => (countdown(viewer.lang, due, now), due.as_millisecond()),
        None => (String::new(), 0),
    };
    let (revealed, revealed_contact, revealed_numbers, revealed_seq) = match revealed {
        Some(r) => (
            true,
            r.contact,
            r.numbers
                .into_iter()
                .map(|n| {
                    let field = viewer.lang.text_field(&n.number.sealed.field);
                    (field, n.number.sealed.masked, n.number.written, n.seq)
                })
                .collect(),
            r.audit_seq,
        ),
        None => (false, None, Vec::new(), 0),
    };
    let urgency = domain::ids::TierCode::parse(&t.urgency)
        .ok()
        .and_then(|code| registry.rules.policy.tier(&code).cloned())
        .map(|tier| match viewer.lang {
            super::i18n::Lang::Zh => tier.name_zh,
            super::i18n::Lang::En => tier.name_en,
        })
        .unwrap_or_else(|| t.urgency.clone());
    Ok(render(&TicketPage {
        urgency,
        any_offer: offers.any(),
        c,
        t,
        offers,
        due_text,
        due_ms,
        timeline,
        revealed,
        revealed_contact,
        revealed_numbers,
        revealed_seq,
        done,
        purposes: RevealPurpose::ALL
            .iter()
            .map(|p| (p.as_str(), viewer.lang.reveal_purpose(*p)))
            .collect(),
    }))
}

/// An event's logged fields as `key: value` text: times in the city's time, empty fields and
/// the request itself (shown above the timeline) left out.
fn summarise(details: &serde_json::Value, c: &Chrome) -> String {
    let Some(map) = details.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(k, _)| k.as_str() != "request")
        .filter(|(_, v)| {
            !(v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty))
        })
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => match s.parse::<jiff::Timestamp>() {
                Ok(at) => format!("{k}: {}", c.time(&at)),
                Err(_) => format!("{k}: {s}"),
            },
            serde_json::Value::Object(inner) => {
                let parts: Vec<String> =
                    inner.iter().map(|(ik, iv)| format!("{ik}={iv}")).collect();
                format!("{k}: {}", parts.join(", "))
            }
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

pub fn parse_no(text: &str) -> UiResult<TicketNo> {
    TicketNo::parse(text.trim()).map_err(|e| UiError::bad_request(e.to_string()))
}

/// The citizen's photo, for those who may view the ticket. Served only as the image type it was
/// checked to be, never sniffed, never as a page.
pub async fn photo(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(no): Path<String>,
) -> UiResult<Response> {
    use axum::http::header;
    let no = parse_no(&no)?;
    let (content_type, bytes) = app
        .ticket_photo(&viewer.actor, app.now(), no)
        .await
        .map_err(|e| UiError::from(e).with_lang(viewer.lang))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'".to_owned(),
            ),
            // Every view is recorded in the access trail, so none is served from a cache.
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::CONTENT_DISPOSITION, "inline".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
