//! The supervisor's privacy page (隐私审查): what in the access trail deserves a look, everyone's
//! looks in a window, who looked at one ticket, and one person's looks.

use std::sync::Arc;

use app::App;
use app::access::AccessLine;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use domain::access::{Flag, PersonDay};
use serde::Deserialize;

use super::page::{Chrome, UiError, UiResult, render};
use super::session::Viewer;
use super::ticket::parse_no;

#[derive(Deserialize)]
pub struct PrivacyQuery {
    hours: Option<u32>,
    /// A ticket whose looks to list.
    no: Option<String>,
    /// A person whose looks to list.
    user: Option<String>,
}

pub struct FlagLine {
    pub user: String,
    pub text: String,
}

pub struct Line {
    pub when: String,
    pub user: String,
    pub seat: String,
    pub what: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    c: Chrome,
    hours: u32,
    flags: Vec<FlagLine>,
    people: Vec<PersonDay>,
    ticket: Option<(String, Vec<Line>)>,
    person: Option<(String, Vec<Line>)>,
    /// Accounts with roles an administrator asked for: `(user, name, roles)`.
    awaiting: Vec<(String, String, String)>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(q): Query<PrivacyQuery>,
) -> UiResult<Response> {
    let now = app.now();
    let hours = q.hours.unwrap_or(24).clamp(1, 24 * 31);
    let lang = viewer.lang;
    let failed = |e: app::AppError| UiError::from(e).with_lang(lang);
    let report = app
        .privacy_report(&viewer.actor, now, hours)
        .await
        .map_err(failed)?;
    let zone = app.registry().rules.calendar.zone().clone();
    let c = Chrome::new(&viewer, zone, "/privacy", lang.t().nav_privacy);
    let lines = |entries: Vec<AccessLine>| -> Vec<Line> {
        entries
            .into_iter()
            .map(|e| Line {
                when: c.time(&e.at),
                user: e.user,
                seat: format!("{} · {}", e.roles.join(","), e.affiliation),
                what: lang.event(&e.kind),
                detail: e.detail,
            })
            .collect()
    };
    let ticket = match q.no.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(no) => {
            let no = parse_no(no)?;
            let entries = app.ticket_access(&viewer.actor, no).await.map_err(failed)?;
            Some((no.to_string(), lines(entries)))
        }
        None => None,
    };
    let person = match q.user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(user) => {
            let entries = app
                .person_access(&viewer.actor, now, user, hours)
                .await
                .map_err(failed)?;
            Some((user.to_owned(), lines(entries)))
        }
        None => None,
    };
    let flags = report
        .flags
        .iter()
        .map(|f| FlagLine {
            user: f.user().to_owned(),
            text: describe(f, lang, &c),
        })
        .collect();
    let awaiting = app
        .roles_awaiting_approval(&viewer.actor)
        .unwrap_or_default()
        .into_iter()
        .map(|(user, roles)| {
            (
                user.id.to_string(),
                user.display_name,
                role_names(&roles, lang),
            )
        })
        .collect();
    Ok(render(&PrivacyPage {
        awaiting,
        c,
        hours,
        flags,
        people: report.people,
        ticket,
        person,
    }))
}

#[derive(Deserialize)]
pub struct RolesDecision {
    approve: String,
}

/// A supervisor approves or refuses the roles waiting on an account.
pub async fn decide_roles(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    axum::extract::Path(user): axum::extract::Path<String>,
    axum::Form(form): axum::Form<RolesDecision>,
) -> UiResult<Response> {
    let lang = viewer.lang;
    let user = domain::ids::UserId::parse(user.trim())?;
    app.decide_roles(&viewer.actor, app.now(), &user, form.approve == "1")
        .await
        .map_err(|e| UiError::from(e).with_lang(lang))?;
    Ok(axum::response::Redirect::to("/privacy#roles").into_response())
}

fn describe(flag: &Flag, lang: super::i18n::Lang, c: &Chrome) -> String {
    use super::i18n::Lang::{En, Zh};
    match (flag, lang) {
        (
            Flag::AboveRoleMedian {
                role,
                reads,
                median,
                ..
            },
            Zh,
        ) => {
            format!(
                "查阅 {reads} 次，远高于同角色（{}）中位数 {median} 次",
                lang.role(*role)
            )
        }
        (
            Flag::AboveRoleMedian {
                role,
                reads,
                median,
                ..
            },
            En,
        ) => {
            format!(
                "{reads} reads, far above the median of {median} for {}",
                lang.role(*role)
            )
        }
        (Flag::OutsideQueue { reads, .. }, Zh) => format!("查阅非本人工作范围内的工单 {reads} 次"),
        (Flag::OutsideQueue { reads, .. }, En) => {
            format!("{reads} reads of tickets outside their own work")
        }
        (Flag::Burst { reads, minutes, .. }, Zh) => format!("{minutes} 分钟内查阅 {reads} 次"),
        (Flag::Burst { reads, minutes, .. }, En) => {
            format!("{reads} reads within {minutes} minutes")
        }
        (Flag::LookupsRefused { refused, .. }, Zh) => {
            format!("来电号码查询超出限额或越界，被拒绝 {refused} 次")
        }
        (Flag::LookupsRefused { refused, .. }, En) => {
            format!("{refused} caller lookups refused (over the budget, or across numbers)")
        }
        (Flag::RevealsRefused { refused, .. }, Zh) => format!("查看联系方式被拒绝 {refused} 次"),
        (Flag::RevealsRefused { refused, .. }, En) => format!("{refused} reveals refused"),
        (
            Flag::RoleChange {
                by,
                at,
                roles,
                awaiting_approval,
                affiliation,
                ..
            },
            _,
        ) => {
            let (roles, awaiting) = (role_names(roles, lang), role_names(awaiting_approval, lang));
            let when = c.time(&at.timestamp());
            let code = affiliation.code();
            match (lang, awaiting.is_empty()) {
                (Zh, true) => format!("{when} 由 {by} 设为：{roles}（{code}）"),
                (Zh, false) => {
                    format!("{when} 由 {by} 设为：{roles}（{code}）；待督办审批：{awaiting}")
                }
                (En, true) => format!("{when} set by {by} to: {roles} ({code})"),
                (En, false) => {
                    format!(
                        "{when} set by {by} to: {roles} ({code}); awaiting a supervisor: {awaiting}"
                    )
                }
            }
        }
        (
            Flag::RolesDecided {
                by,
                at,
                roles,
                approved,
                ..
            },
            _,
        ) => {
            let (roles, when) = (role_names(roles, lang), c.time(&at.timestamp()));
            match (lang, approved) {
                (Zh, true) => format!("{when} {by} 批准角色：{roles}"),
                (Zh, false) => format!("{when} {by} 驳回角色：{roles}"),
                (En, true) => format!("{when} {by} approved: {roles}"),
                (En, false) => format!("{when} {by} refused: {roles}"),
            }
        }
    }
}

fn role_names(roles: &[domain::org::Role], lang: super::i18n::Lang) -> String {
    let names: Vec<&str> = roles.iter().map(|r| lang.role(*r)).collect();
    names.join(match lang {
        super::i18n::Lang::Zh => "、",
        super::i18n::Lang::En => ", ",
    })
}
