//! What the endpoint offers: `discovery` and the services with their questions.

use std::sync::Arc;

use app::App;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::format::{Format, Node, respond};
use super::{BASE, CHANGESET, Failure, Params, SPECIFICATION, check_jurisdiction, no_format};

/// The discovery document, its endpoint at the configured public address (never one a request's
/// `Host` or `X-Forwarded-Proto` header claims).
pub(super) fn discovery(config: &crate::WebConfig, format: Format) -> Response {
    let changeset = Node::text(CHANGESET);
    let node = Node::Fields(vec![
        ("changeset", changeset.clone()),
        (
            "contact",
            Node::text("12345 政务服务便民热线 — the city's citizen service hotline"),
        ),
        (
            "key_service",
            Node::text(
                "API keys are issued by the hotline's administrator to each channel (app, mini-program, partner system); see docs/open311.md",
            ),
        ),
        (
            "endpoints",
            Node::List(
                "endpoint",
                vec![Node::Fields(vec![
                    ("specification", Node::text(SPECIFICATION)),
                    ("url", Node::text(config.url_of(BASE))),
                    ("changeset", changeset),
                    ("type", Node::text("production")),
                    (
                        "formats",
                        Node::List(
                            "format",
                            vec![Node::text("text/xml"), Node::text("application/json")],
                        ),
                    ),
                ])],
            ),
        ),
    ]);
    respond(format, StatusCode::OK, "discovery", &node)
}

pub(super) fn list(app: &App, format: Format) -> Response {
    let list = app
        .open311_services()
        .into_iter()
        .map(|s| {
            Node::Fields(vec![
                ("service_code", Node::text(s.code)),
                ("service_name", Node::text(s.name)),
                ("description", Node::text(s.description)),
                ("metadata", Node::Bool(s.metadata)),
                // The number comes back at once: a realtime service in the spec's terms.
                ("type", Node::text("realtime")),
                ("keywords", Node::text(s.keywords.join(","))),
                ("group", Node::text(s.group)),
            ])
        })
        .collect();
    respond(
        format,
        StatusCode::OK,
        "services",
        &Node::List("service", list),
    )
}

pub(super) async fn definition(
    State(app): State<Arc<App>>,
    Path(file): Path<String>,
    axum::extract::Query(params): axum::extract::Query<Params>,
) -> Response {
    let Some((code, format)) = Format::split(&file) else {
        return no_format(&file);
    };
    let result = check_jurisdiction(&app, &params)
        .and_then(|()| app.open311_service(code).map_err(Failure::from));
    let (code, attributes) = match result {
        Ok(found) => found,
        Err(e) => return e.respond(format),
    };
    let attributes = attributes
        .into_iter()
        .map(|a| {
            Node::Fields(vec![
                ("variable", Node::Bool(true)),
                ("code", Node::text(a.code)),
                ("datatype", Node::text(a.datatype.as_str())),
                ("required", Node::Bool(a.required)),
                (
                    "datatype_description",
                    Node::opt_text(Some(a.datatype_description.to_owned())),
                ),
                ("order", Node::Int(i64::from(a.order))),
                ("description", Node::text(a.description)),
                (
                    "values",
                    Node::List(
                        "value",
                        a.values
                            .iter()
                            .map(|(key, name)| {
                                Node::Fields(vec![
                                    ("key", Node::text(*key)),
                                    ("name", Node::text(*name)),
                                ])
                            })
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    let node = Node::Fields(vec![
        ("service_code", Node::text(code)),
        ("attributes", Node::List("attribute", attributes)),
    ]);
    respond(format, StatusCode::OK, "service_definition", &node)
}
