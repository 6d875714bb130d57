//! What every page shares: the frame around it (navigation, user, language switch, CSRF token),
//! rendering, error pages, and the way times and deadlines are written.

use app::AppError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use domain::permission::{Action, may_ever};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::i18n::{Lang, Texts};
use super::session::Viewer;
use crate::error::WebError;

/// The frame of a signed-in page.
pub struct Chrome {
    pub lang: Lang,
    pub t: &'static Texts,
    pub title: String,
    pub user: String,
    pub roles: String,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub zone: TimeZone,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
    /// The access key (Alt+key in Chromium) shown next to the label.
    pub key: char,
}

impl Chrome {
    pub fn new(viewer: &Viewer, zone: TimeZone, current: &str, title: &str) -> Self {
        let t = viewer.lang.t();
        // Each page is offered to whoever the permission table lets do its main work.
        let pages: [(Action, &'static str, &'static str, char); 7] = [
            (Action::Receive, "/intake", t.nav_intake, '1'),
            (Action::Dispatch, "/dispatch", t.nav_dispatch, '2'),
            (Action::Sign, "/unit", t.nav_unit, '3'),
            (Action::RecordFollowUp, "/followup", t.nav_followup, '4'),
            (Action::ViewKpi, "/dashboard", t.nav_dashboard, '5'),
            (Action::ManageUsers, "/admin", t.nav_admin, '6'),
            (Action::ViewAccessTrail, "/privacy", t.nav_privacy, '7'),
        ];
        let nav = pages
            .into_iter()
            .filter(|(action, ..)| may_ever(&viewer.actor, *action))
            .map(|(_, href, label, key)| NavItem {
                href,
                label,
                current: href == current,
                key,
            })
            .collect();
        let roles: Vec<&str> = viewer
            .actor
            .roles
            .iter()
            .map(|r| viewer.lang.role(*r))
            .collect();
        Self {
            lang: viewer.lang,
            t,
            title: title.to_owned(),
            user: viewer.user.display_name.clone(),
            roles: roles.join("、"),
            nav,
            csrf: viewer.csrf.clone(),
            zone,
        }
    }

    /// `2026-11-26 14:30` in the city's time.
    pub fn time(&self, at: &Timestamp) -> String {
        at.to_zoned_datetime(self.zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    }

    pub fn time_opt(&self, at: &Option<Timestamp>) -> String {
        at.as_ref().map(|t| self.time(t)).unwrap_or_default()
    }
}

/// "3 小时 12 分" left, or "超时 2 小时" — the server's rendering of a deadline, which the page's
/// script then keeps counting down.
pub fn countdown(lang: Lang, due: Timestamp, now: Timestamp) -> String {
    let left = due.duration_since(now);
    let late = left.is_negative();
    let span = if late { -left } else { left };
    let text = human(lang, span);
    match (lang, late) {
        (Lang::Zh, false) => format!("剩 {text}"),
        (Lang::Zh, true) => format!("超时 {text}"),
        (Lang::En, false) => format!("{text} left"),
        (Lang::En, true) => format!("{text} overdue"),
    }
}

fn human(lang: Lang, span: SignedDuration) -> String {
    let minutes = span.as_secs() / 60;
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match lang {
        Lang::Zh if d > 0 => format!("{d} 天 {h} 小时"),
        Lang::Zh if h > 0 => format!("{h} 小时 {m} 分"),
        Lang::Zh => format!("{m} 分"),
        Lang::En if d > 0 => format!("{d} d {h} h"),
        Lang::En if h > 0 => format!("{h} h {m} min"),
        Lang::En => format!("{m} min"),
    }
}

/// Renders a template into a response; a template error is a bug, answered as one.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => UiError::internal(format!("rendering a page failed: {e}")).into_response(),
    }
}

/// An error shown as a page: what went wrong, in words the user can act on, and a way back.
#[derive(Debug)]
pub struct UiError {
    status: StatusCode,
    message: String,
    lang: Lang,
    /// The stable code of the refusal (`wrong_state`, …), shown as a sentence in the page's
    /// language above the message.
    code: Option<&'static str>,
}

pub type UiResult<T> = Result<T, UiError>;

impl UiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            lang: Lang::Zh,
            code: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(detail: String) -> Self {
        WebError::from(AppError::Internal(detail)).into()
    }

    pub fn with_lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<WebError> for UiError {
    fn from(e: WebError) -> Self {
        Self {
            code: Some(e.code()),
            ..Self::new(e.status(), e.message())
        }
    }
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        WebError::from(e).into()
    }
}

impl From<domain::ParseError> for UiError {
    fn from(e: domain::ParseError) -> Self {
        Self::bad_request(e.to_string())
    }
}

impl From<domain::DomainError> for UiError {
    fn from(e: domain::DomainError) -> Self {
        WebError::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: &'static Texts,
    lang: Lang,
    status: u16,
    headline: Option<&'static str>,
    message: &'a str,
}

/// A refusal's code as a sentence in the page's language.
fn headline(t: &'static Texts, code: &str) -> Option<&'static str> {
    Some(match code {
        "invalid_input" => t.refused_invalid_input,
        "not_permitted" | "forbidden" => t.refused_not_permitted,
        "wrong_state" => t.refused_wrong_state,
        "ticket_not_found" => t.refused_ticket_not_found,
        "not_found" => t.refused_not_found,
        "conflict" => t.refused_conflict,
        "too_many_requests" => t.refused_too_many_requests,
        "unauthenticated" => t.refused_unauthenticated,
        "unavailable" => t.refused_unavailable,
        "internal" => t.refused_internal,
        _ => return None,
    })
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let t = self.lang.t();
        let page = ErrorPage {
            t,
            lang: self.lang,
            status: self.status.as_u16(),
            headline: self.code.and_then(|code| headline(t, code)),
            message: &self.message,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("<p>{}</p>", self.status));
        (self.status, Html(body)).into_response()
    }
}
