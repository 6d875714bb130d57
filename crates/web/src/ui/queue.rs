//! A list of tickets as the queues show it: number, title, status, unit and a live countdown.

use app::views::TicketView;
use jiff::Timestamp;

use super::page::{Chrome, countdown};

pub struct Row {
    pub no: String,
    pub no_grouped: String,
    pub title: String,
    pub status_key: &'static str,
    pub status: &'static str,
    pub category: String,
    pub unit: String,
    pub received: String,
    pub due_text: String,
    /// Milliseconds since the epoch, for the script's countdown; 0 when nothing is due.
    pub due_ms: i64,
    pub overdue: bool,
    pub confidential: bool,
    /// What the row's link should open (the ticket, or the dispatch form).
    pub href: String,
}

impl Row {
    pub fn of(c: &Chrome, t: &TicketView, now: Timestamp) -> Self {
        Self {
            no: t.no.clone(),
            no_grouped: t.no_grouped.clone(),
            title: t.title.clone(),
            status_key: t.status.as_str(),
            status: c.lang.status(t.status),
            category: t
                .category_path
                .rsplit(" / ")
                .next()
                .unwrap_or_default()
                .to_owned(),
            unit: t
                .lead_unit
                .as_ref()
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            received: c.time(&t.received_at),
            due_text: t
                .due_at
                .map(|d| countdown(c.lang, d, now))
                .unwrap_or_default(),
            due_ms: t.due_at.map(|d| d.as_millisecond()).unwrap_or(0),
            overdue: t.overdue,
            confidential: t.confidential,
            href: format!("/tickets/{}", t.no),
        }
    }

    pub fn linking_to(mut self, href: String) -> Self {
        self.href = href;
        self
    }
}

/// One titled list on a queue page.
pub struct Queue {
    pub id: &'static str,
    pub title: &'static str,
    pub rows: Vec<Row>,
    /// The list stopped at its limit: there are more than it shows.
    pub more: bool,
}

impl Queue {
    pub fn new(id: &'static str, title: &'static str, rows: Vec<Row>, limit: usize) -> Self {
        let more = rows.len() >= limit;
        Self {
            id,
            title,
            rows,
            more,
        }
    }

    /// `200+` when the list stopped at its limit.
    pub fn count(&self) -> String {
        if self.more {
            format!("{}+", self.rows.len())
        } else {
            self.rows.len().to_string()
        }
    }
}
