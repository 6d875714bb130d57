//! Administration (系统管理): units and their dispatch catalogue, users and roles, the category
//! taxonomy, and the urgency tiers with their deadlines. Each form runs one admin use case, which
//! the audit log records like any other change.

use std::sync::Arc;

use app::App;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::calendar::Span;
use domain::ids::{CategoryCode, DivisionCode, UnitId, UserId};
use domain::org::{Affiliation, Role, Unit, UnitKind, User};
use domain::permission::{Action, require};

use super::form::{Fields, checked, field, values};
use super::intake::serde_plain;
use super::page::{Chrome, UiError, UiResult, render};
use super::session::Viewer;

pub struct UserRow {
    pub id: String,
    pub name: String,
    pub affiliation: String,
    /// `(value, label, ticked, awaiting a supervisor)`: a role asked for and not yet approved
    /// stays ticked, so saving the row again keeps the request.
    pub roles: Vec<(String, &'static str, bool, bool)>,
    pub active: bool,
}

pub struct UnitRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub parent: String,
    pub jurisdiction: String,
    pub catalogue: String,
}

pub struct TierRow {
    pub code: String,
    pub name: String,
    pub sign: (u32, &'static str),
    pub reply: (u32, &'static str),
    pub sign_text: String,
    pub reply_text: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    c: Chrome,
    users: Vec<UserRow>,
    units: Vec<UnitRow>,
    tiers: Vec<TierRow>,
    kinds: Vec<(String, &'static str)>,
    role_names: Vec<(String, &'static str)>,
    spans: Vec<(&'static str, &'static str)>,
    taxonomy_source: String,
    top_categories: Vec<(String, String, usize)>,
    /// Failed logins of the last day: when, and the detail (name tried, address).
    failed_logins: Vec<(String, String)>,
}

pub async fn page(State(app): State<Arc<App>>, viewer: Viewer) -> UiResult<Response> {
    require(&viewer.actor, Action::ManageUsers, None)?;
    let registry = app.registry();
    let lang = viewer.lang;
    let users = registry
        .users
        .values()
        .map(|u| UserRow {
            id: u.id.to_string(),
            name: u.display_name.clone(),
            affiliation: u.affiliation.code(),
            roles: Role::ALL
                .iter()
                .map(|r| {
                    let awaiting = registry
                        .awaiting_approval
                        .get(&u.id)
                        .is_some_and(|roles| roles.contains(r));
                    (
                        r.as_str().to_owned(),
                        lang.role(*r),
                        u.roles.contains(r) || awaiting,
                        awaiting,
                    )
                })
                .collect(),
            active: u.active,
        })
        .collect();
    let units = registry
        .units
        .values()
        .map(|u| UnitRow {
            id: u.id.to_string(),
            name: u.name.clone(),
            kind: u.kind.zh(),
            parent: u.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            jurisdiction: join(&u.jurisdiction),
            catalogue: join(&u.categories),
        })
        .collect();
    let tiers = registry
        .rules
        .policy
        .tiers
        .iter()
        .map(|t| TierRow {
            code: t.code.to_string(),
            name: t.name_zh.clone(),
            sign: span_parts(t.sign_within),
            reply: span_parts(t.reply_within),
            sign_text: t.sign_within.describe_zh(),
            reply_text: t.reply_within.describe_zh(),
        })
        .collect();
    let kinds = [
        UnitKind::City,
        UnitKind::District,
        UnitKind::Street,
        UnitKind::Community,
        UnitKind::Department,
        UnitKind::Utility,
    ]
    .iter()
    .map(|k| (serde_plain(k), k.zh()))
    .collect();
    let top_categories = registry
        .categories
        .values()
        .filter(|c| c.level() == 1)
        .map(|c| {
            let leaves = registry
                .categories
                .values()
                .filter(|l| l.level() == 3 && l.code.as_str().starts_with(c.code.as_str()))
                .count();
            (c.code.to_string(), c.name.clone(), leaves)
        })
        .collect();
    let c = Chrome::new(
        &viewer,
        registry.rules.calendar.zone().clone(),
        "/admin",
        viewer.lang.t().nav_admin,
    );
    let failed_logins = app
        .failed_logins(&viewer.actor, app.now(), 24)
        .await?
        .into_iter()
        .map(|l| (c.time(&l.at), l.detail))
        .collect();
    Ok(render(&AdminPage {
        failed_logins,
        c,
        users,
        units,
        tiers,
        kinds,
        role_names: Role::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), lang.role(*r)))
            .collect(),
        spans: vec![
            ("minutes", "分钟 minutes"),
            ("hours", "小时 hours"),
            ("working_hours", "工作小时 working hours"),
            ("working_days", "工作日 working days"),
        ],
        taxonomy_source: registry.taxonomy_source.clone(),
        top_categories,
    }))
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn span_parts(span: Span) -> (u32, &'static str) {
    match span {
        Span::Minutes(n) => (n, "minutes"),
        Span::Hours(n) => (n, "hours"),
        Span::WorkingHours(n) => (n, "working_hours"),
        Span::WorkingDays(n) => (n, "working_days"),
    }
}

fn parse_span(amount: &str, kind: &str) -> UiResult<Span> {
    let n: u32 = amount
        .trim()
        .parse()
        .map_err(|_| UiError::bad_request(format!("{amount:?} is not a whole number")))?;
    Ok(match kind {
        "minutes" => Span::Minutes(n),
        "hours" => Span::Hours(n),
        "working_hours" => Span::WorkingHours(n),
        "working_days" => Span::WorkingDays(n),
        other => return Err(UiError::bad_request(format!("unknown time unit {other:?}"))),
    })
}

fn roles_from(fields: &Fields) -> UiResult<std::collections::BTreeSet<Role>> {
    values(fields, "roles")
        .map(|v| Role::parse(v).map_err(UiError::from))
        .collect()
}

fn back_to_admin(viewer: &Viewer, result: UiResult<()>, anchor: &str) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/admin#{anchor}")).into_response(),
        Err(e) => e.with_lang(viewer.lang).into_response(),
    }
}

pub async fn create_user(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Response {
    let result = async {
        let user = User {
            id: UserId::parse(field(&f, "id").trim())?,
            display_name: field(&f, "name").trim().to_owned(),
            affiliation: Affiliation::parse(field(&f, "affiliation"))?,
            roles: roles_from(&f)?,
            active: true,
        };
        let password = Some(field(&f, "password")).filter(|p| !p.is_empty());
        app.create_user(&viewer.actor, app.now(), user, password)
            .await?;
        Ok(())
    }
    .await;
    back_to_admin(&viewer, result, "users")
}

pub async fn update_user(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let result = async {
        let id = UserId::parse(&id)?;
        let mut user = app
            .registry()
            .users
            .get(&id)
            .cloned()
            .ok_or_else(|| UiError::not_found(format!("there is no user {id}")))?;
        user.roles = roles_from(&f)?;
        user.active = checked(&f, "active");
        app.update_user(&viewer.actor, app.now(), user).await?;
        Ok(())
    }
    .await;
    back_to_admin(&viewer, result, "users")
}

pub async fn save_unit(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Response {
    let result = async {
        let list = |name: &str| -> Vec<String> {
            field(&f, name)
                .split([',', '，', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let kind: UnitKind = field(&f, "kind")
            .parse()
            .map_err(|_| UiError::bad_request("choose the kind of unit"))?;
        let unit = Unit {
            id: UnitId::parse(field(&f, "id").trim())?,
            name: field(&f, "name").trim().to_owned(),
            kind,
            parent: match field(&f, "parent").trim() {
                "" => None,
                p => Some(UnitId::parse(p)?),
            },
            jurisdiction: list("jurisdiction")
                .iter()
                .map(|d| DivisionCode::parse(d))
                .collect::<Result<_, _>>()?,
            categories: list("catalogue")
                .iter()
                .map(|c| CategoryCode::parse(c))
                .collect::<Result<_, _>>()?,
        };
        let exists = app.registry().units.contains_key(&unit.id);
        if exists {
            app.update_unit(&viewer.actor, app.now(), unit).await?;
        } else {
            app.create_unit(&viewer.actor, app.now(), unit).await?;
        }
        Ok(())
    }
    .await;
    back_to_admin(&viewer, result, "units")
}

pub async fn save_tiers(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Response {
    let result = async {
        let mut policy = app.registry().rules.policy.clone();
        for tier in &mut policy.tiers {
            let code = tier.code.to_string();
            tier.sign_within = parse_span(
                field(&f, &format!("sign_n_{code}")),
                field(&f, &format!("sign_kind_{code}")),
            )?;
            tier.reply_within = parse_span(
                field(&f, &format!("reply_n_{code}")),
                field(&f, &format!("reply_kind_{code}")),
            )?;
        }
        app.set_policy(&viewer.actor, app.now(), policy).await?;
        Ok(())
    }
    .await;
    back_to_admin(&viewer, result, "tiers")
}

pub async fn import_taxonomy(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Response {
    let result = async {
        let source = field(&f, "source").trim();
        if source.is_empty() {
            return Err(UiError::bad_request(
                "name the source of the taxonomy (standard, year, document)",
            ));
        }
        app.import_taxonomy(&viewer.actor, app.now(), source, field(&f, "csv"))
            .await?;
        Ok(())
    }
    .await;
    back_to_admin(&viewer, result, "categories")
}
