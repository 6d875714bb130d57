//! One answer, two formats: a small tree of named fields rendered as the spec's JSON or XML, so
//! the two can never say different things.

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// `requests.json` → (`requests`, JSON). A name without a known suffix is not found, as
    /// the spec addresses every resource with its format.
    pub fn split(file: &str) -> Option<(&str, Format)> {
        if let Some(name) = file.strip_suffix(".json") {
            Some((name, Format::Json))
        } else {
            file.strip_suffix(".xml").map(|name| (name, Format::Xml))
        }
    }
}

/// A value of an answer.
#[derive(Clone, Debug)]
pub enum Node {
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
    /// Shown as JSON `null` and an empty XML element.
    Empty,
    Fields(Vec<(&'static str, Node)>),
    /// A list; in XML each item is an element named by the first member.
    List(&'static str, Vec<Node>),
}

impl Node {
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    pub fn opt_text(s: Option<String>) -> Self {
        s.filter(|s| !s.is_empty())
            .map(Self::Text)
            .unwrap_or(Self::Empty)
    }

    fn json(&self) -> Value {
        match self {
            Self::Text(s) => Value::String(s.clone()),
            Self::Number(n) => serde_json::Number::from_f64(*n)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Self::Int(n) => Value::from(*n),
            Self::Bool(b) => Value::Bool(*b),
            Self::Empty => Value::Null,
            Self::Fields(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert((*k).to_owned(), v.json());
                }
                Value::Object(map)
            }
            Self::List(_, items) => Value::Array(items.iter().map(Node::json).collect()),
        }
    }

    fn xml(&self, name: &str, w: &mut Writer<Vec<u8>>) -> std::io::Result<()> {
        match self {
            Self::Fields(fields) => {
                w.write_event(Event::Start(BytesStart::new(name)))?;
                for (k, v) in fields {
                    v.xml(k, w)?;
                }
                w.write_event(Event::End(BytesEnd::new(name)))
            }
            Self::List(item, items) => {
                w.write_event(Event::Start(BytesStart::new(name)))?;
                for i in items {
                    i.xml(item, w)?;
                }
                w.write_event(Event::End(BytesEnd::new(name)))
            }
            Self::Empty => w.write_event(Event::Empty(BytesStart::new(name))),
            scalar => {
                let text = match scalar {
                    Self::Text(s) => s.clone(),
                    Self::Number(n) => n.to_string(),
                    Self::Int(n) => n.to_string(),
                    Self::Bool(b) => b.to_string(),
                    _ => String::new(),
                };
                w.write_event(Event::Start(BytesStart::new(name)))?;
                w.write_event(Event::Text(BytesText::new(&text)))?;
                w.write_event(Event::End(BytesEnd::new(name)))
            }
        }
    }
}

/// The answer: `root` names the XML document element (`services`, `service_requests`, …); in
/// JSON a `List` root is the top-level array the spec shows.
pub fn respond(format: Format, status: StatusCode, root: &str, node: &Node) -> Response {
    match format {
        Format::Json => (
            status,
            [(CONTENT_TYPE, "application/json; charset=utf-8")],
            node.json().to_string(),
        )
            .into_response(),
        Format::Xml => {
            let mut w = Writer::new(Vec::new());
            let written = w
                .write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))
                .and_then(|_| node.xml(root, &mut w));
            match written {
                Ok(()) => (
                    status,
                    [(CONTENT_TYPE, "text/xml; charset=utf-8")],
                    w.into_inner(),
                )
                    .into_response(),
                Err(e) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("writing XML failed: {e}"),
                )
                    .into_response(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_carry_the_same_fields_and_xml_is_escaped() {
        let node = Node::List(
            "request",
            vec![Node::Fields(vec![
                ("service_request_id", Node::text("26112600001")),
                ("description", Node::text("<路灯> & 噪声")),
                ("lat", Node::Number(30.5)),
                ("media_url", Node::Empty),
            ])],
        );
        assert_eq!(
            node.json(),
            serde_json::json!([{"service_request_id": "26112600001", "description": "<路灯> & 噪声", "lat": 30.5, "media_url": null}])
        );
        let mut w = Writer::new(Vec::new());
        node.xml("service_requests", &mut w).unwrap();
        let xml = String::from_utf8(w.into_inner()).unwrap();
        assert_eq!(
            xml,
            "<service_requests><request><service_request_id>26112600001</service_request_id>\
             <description>&lt;路灯&gt; &amp; 噪声</description><lat>30.5</lat><media_url/></request></service_requests>"
        );
        assert_eq!(
            Format::split("requests.xml"),
            Some(("requests", Format::Xml))
        );
        assert_eq!(Format::split("requests"), None);
    }
}
