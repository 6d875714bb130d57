//! Logging in and out, the language switch, and sending each role to its own home page.

use std::sync::Arc;

use app::App;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::SignedDuration;
use serde::Deserialize;

use super::i18n::{Lang, Texts};
use crate::extract::ClientAddress;

use super::page::{UiError, render};
use super::session::{
    FORM_COOKIE, LANG_COOKIE, SESSION_COOKIE, SESSION_HOURS, Viewer, anonymous_form, home_of,
    lang_of, set_cookie, with_cookie,
};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'static Texts,
    lang: Lang,
    csrf: &'a str,
    next: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `/`: the viewer's own home, or the login form.
pub async fn home(viewer: Viewer) -> Redirect {
    Redirect::to(home_of(&viewer.actor))
}

pub async fn form(headers: HeaderMap, Query(q): Query<Next>) -> Response {
    let next = safe_next(q.next.as_deref());
    login_page(&headers, next, "", None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(app): State<Arc<App>>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let valid_for = SignedDuration::from_hours(SESSION_HOURS);
    match app
        .login(
            app.now(),
            form.username.trim(),
            &form.password,
            valid_for,
            address,
        )
        .await
    {
        Ok((token, user)) => {
            let target = next.unwrap_or_else(|| home_of(&user.actor()).to_owned());
            let response = Redirect::to(&target).into_response();
            let response = with_cookie(
                response,
                set_cookie(SESSION_COOKIE, &token.token, SESSION_HOURS * 3600),
            );
            with_cookie(response, set_cookie(FORM_COOKIE, "", 0))
        }
        Err(e) => {
            let lang = lang_of(&headers);
            let status = match e {
                app::AppError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            let message = match (&e, lang) {
                (app::AppError::Unauthenticated(_), Lang::Zh) => {
                    "用户名或密码错误，或账号已停用。".to_owned()
                }
                (app::AppError::TooMany(m), Lang::Zh) => {
                    format!("该账号在此地址登录失败次数过多，请稍后再试。（{m}）")
                }
                _ => UiError::from(e).message().to_owned(),
            };
            login_page(&headers, next, form.username.trim(), Some(&message), status)
        }
    }
}

pub async fn logout(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    // The cookie goes whatever happens; a failed revoke is logged, not shown.
    if let Err(e) = app.logout(&viewer.actor, app.now(), &viewer.session).await {
        tracing::warn!(error = %e, "revoking a session token at logout failed");
    }
    with_cookie(
        Redirect::to("/login").into_response(),
        set_cookie(SESSION_COOKIE, "", 0),
    )
}

#[derive(Deserialize)]
pub struct Switch {
    to: String,
    back: Option<String>,
}

/// Sets the language cookie and returns to the page the switch was on.
pub async fn switch_language(headers: HeaderMap, Query(q): Query<Switch>) -> Response {
    let lang = Lang::parse(&q.to).unwrap_or(Lang::Zh);
    let back = safe_next(q.back.as_deref())
        .or_else(|| {
            headers
                .get(axum::http::header::REFERER)
                .and_then(|r| r.to_str().ok())
                .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
                .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
                .and_then(|p| safe_next(Some(&p)))
        })
        .unwrap_or_else(|| "/".to_owned());
    with_cookie(
        Redirect::to(&back).into_response(),
        set_cookie(LANG_COOKIE, lang.code(), 365 * 24 * 3600),
    )
}

fn login_page(
    headers: &HeaderMap,
    next: Option<String>,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = lang_of(headers);
    let (csrf, form_cookie) = match anonymous_form(headers) {
        Ok(form) => form,
        Err(e) => return e.into_response(),
    };
    let next = next.unwrap_or_default();
    let page = LoginPage {
        t: lang.t(),
        lang,
        csrf: &csrf,
        next: &next,
        username,
        error,
    };
    let response = (status, render(&page)).into_response();
    with_cookie(response, form_cookie)
}

/// Only a path on this site may be returned to after logging in or switching language: it starts
/// with one `/`, and holds only visible ASCII — browsers drop tabs and newlines from a
/// `Location`, so `/\t/evil.example` would otherwise become `//evil.example`.
fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| {
        let mut chars = n.chars();
        chars.next() == Some('/')
            && !matches!(chars.next(), Some('/' | '\\'))
            && n.chars().all(|c| c.is_ascii_graphic() && c != '\\')
    })
    .filter(|n| !n.starts_with("/login") && !n.starts_with("/logout"))
    .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_a_path_on_this_site_is_returned_to() {
        for fine in ["/", "/dispatch", "/tickets/26120100001?done=1", "/%2F%2Fx"] {
            assert_eq!(safe_next(Some(fine)).as_deref(), Some(fine), "{fine}");
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example",
            "/ /evil.example",
            "/login?next=//evil.example",
            "evil.example",
            "/路径",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
    }
}
