//! Browser sessions: the login cookie, the signed-in viewer of a page, and CSRF protection for
//! every form. A session is an ordinary expiring token from `App::login`, kept in an HttpOnly,
//! SameSite=Strict cookie; the CSRF token is derived from it, so it needs no storage of its own.

use std::sync::Arc;

use app::App;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use domain::org::{Actor, Role, User};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::i18n::Lang;
use super::page::UiError;

pub const SESSION_COOKIE: &str = "ms_session";
/// The pre-session cookie of the forms anyone may post (login, the citizen page).
pub const FORM_COOKIE: &str = "ms_form";
pub const LANG_COOKIE: &str = "ms_lang";
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// One shift and a bit: a session ends at the latest twelve hours after logging in.
pub const SESSION_HOURS: i64 = 12;
/// The largest form accepted (the CSRF check reads the body before the handler does).
const FORM_LIMIT: usize = 1024 * 1024;

/// The value of one cookie from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Strict always. `Secure` is added to every cookie
/// on the way out when the configured public address is HTTPS (`config::security_headers`).
pub fn set_cookie(name: &str, value: &str, max_age: i64) -> HeaderValue {
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The CSRF token of a session: a hash of its secret, so it is stable for the session, cannot be
/// computed without the cookie, and reveals nothing about it.
pub fn csrf_for(session_token: &str) -> String {
    let digest = Sha256::digest(format!("minsheng-csrf:{session_token}").as_bytes());
    hex::encode(&digest[..16])
}

/// The language chosen with the switch, else Chinese.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|c| Lang::parse(&c))
        .unwrap_or(Lang::Zh)
}

/// The signed-in person looking at a page.
pub struct Viewer {
    pub actor: Actor,
    pub user: User,
    pub lang: Lang,
    pub csrf: String,
    pub session: String,
}

impl Viewer {
    pub fn has(&self, role: Role) -> bool {
        self.actor.roles.contains(&role)
    }
}

impl FromRequestParts<Arc<App>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let lang = lang_of(&parts.headers);
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
            Redirect::to(&format!("/login?{query}")).into_response()
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let actor = match app.authenticate(app.now(), &token).await {
            Ok(actor) => actor,
            Err(app::AppError::Unauthenticated(_)) => return Err(to_login()),
            Err(e) => return Err(UiError::from(e).with_lang(lang).into_response()),
        };
        let user = actor
            .user_id()
            .and_then(|id| app.registry().users.get(id).cloned())
            .ok_or_else(to_login)?;
        Ok(Self {
            actor,
            user,
            lang,
            csrf: csrf_for(&token),
            session: token,
        })
    }
}

/// Refuses any state-changing request whose CSRF token does not match: the `_csrf` form field or
/// the `X-CSRF-Token` header must equal the session's token (or, on the forms anyone may post —
/// login and the citizen page — the value of the pre-session form cookie). Reads and the JSON API (bearer tokens, no cookies) pass untouched.
pub async fn csrf_guard(State(_app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return next.run(request).await;
    }
    let lang = lang_of(request.headers());
    let path = request.uri().path();
    let expected = if path == "/login" || path.starts_with("/citizen") {
        cookie(request.headers(), FORM_COOKIE)
    } else {
        cookie(request.headers(), SESSION_COOKIE).map(|t| csrf_for(&t))
    };
    let refused = || {
        UiError::forbidden(
            "this form has expired or did not come from this site; reload the page and try again",
        )
        .with_lang(lang)
        .into_response()
    };
    let Some(expected) = expected else {
        return refused();
    };
    let header = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    // A form with a file is multipart: its token comes in the action's query string, and the
    // body is left for the handler.
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    if multipart {
        let given = header.or_else(|| {
            request.uri().query().and_then(|q| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                    .ok()
                    .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == CSRF_FIELD))
                    .map(|(_, v)| v)
            })
        });
        if !given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes()))) {
            return refused();
        }
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        return UiError::bad_request("the form is too large").into_response();
    };
    let given = header.or_else(|| {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == CSRF_FIELD))
            .map(|(_, v)| v)
    });
    if !given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes()))) {
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Where each role starts its day, most specific first.
pub fn home_of(actor: &Actor) -> &'static str {
    const HOMES: [(Role, &str); 10] = [
        (Role::Operator, "/intake"),
        (Role::Dispatcher, "/dispatch"),
        (Role::UnitHandler, "/unit"),
        (Role::UnitManager, "/unit"),
        (Role::FollowUpAgent, "/followup"),
        (Role::Supervisor, "/dashboard"),
        (Role::QualityInspector, "/dashboard"),
        (Role::Admin, "/admin"),
        // A channel's key is for the Open311 interface; the about page says where it is.
        (Role::ChannelClient, "/about"),
        // So is an ACD's key, for the call events API.
        (Role::CallSystem, "/about"),
    ];
    HOMES
        .iter()
        .find(|(role, _)| actor.roles.contains(role))
        .map(|(_, path)| *path)
        .unwrap_or("/login")
}

/// Attaches a cookie to a response.
pub fn with_cookie(mut response: Response, value: HeaderValue) -> Response {
    response.headers_mut().append(SET_COOKIE, value);
    response
}

/// A token for a form anyone may post, and the cookie that must come back with it. A visitor
/// keeps one token (renewed for an hour on each page), so forms of several open pages or tabs
/// all stay valid.
pub fn anonymous_form(headers: &HeaderMap) -> Result<(String, HeaderValue), UiError> {
    let kept = cookie(headers, FORM_COOKIE)
        .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let token = match kept {
        Some(token) => token,
        None => {
            let mut secret = [0u8; 16];
            getrandom::fill(&mut secret)
                .map_err(|e| UiError::internal(format!("no randomness for a form: {e}")))?;
            hex::encode(secret)
        }
    };
    let cookie = set_cookie(FORM_COOKIE, &token, 3600);
    Ok((token, cookie))
}
