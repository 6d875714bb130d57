//! Taking ticket data out of the system: always recorded, never with a citizen's contact.

use domain::admin::AdminCommand;
use domain::org::Actor;
use domain::permission::{Action, require};
use jiff::Timestamp;
use store::Command;

use crate::App;
use crate::error::{AppError, AppResult};
use crate::tickets::ListFilter;

/// The most rows one export takes.
pub const EXPORT_LIMIT: usize = 100_000;

pub struct Export {
    pub csv: String,
    pub rows: u64,
    /// Where the log recorded the export.
    pub audit_seq: u64,
}

impl App {
    /// Tickets as CSV (no contact details), newest first. The export is logged with its filter,
    /// size and reason before the data is returned.
    pub async fn export_tickets(
        &self,
        actor: &Actor,
        now: Timestamp,
        filter: ListFilter,
        reason: &str,
    ) -> AppResult<Export> {
        require(actor, Action::Export, None)?;
        if reason.trim().chars().count() < 4 {
            return Err(domain::DomainError::invalid("reason", "say why the data is exported (at least 4 characters); it is kept in the audit record").into());
        }
        let description = format!(
            "received_from={:?} received_to={:?}",
            filter.received_from, filter.received_to
        );
        let mut writer = csv::Writer::from_writer(Vec::new());
        let csv_error = |e: csv::Error| AppError::Internal(e.to_string());
        writer
            .write_record([
                "no",
                "received_at",
                "channel",
                "kind",
                "category",
                "category_path",
                "title",
                "status",
                "lead_unit",
                "due_at",
                "overdue",
                "closure",
            ])
            .map_err(csv_error)?;
        let mut rows = 0u64;
        let mut page = ListFilter {
            limit: 500,
            ..filter
        };
        loop {
            let tickets = self.list(actor, now, page.clone()).await?;
            for t in &tickets {
                writer
                    .write_record([
                        t.no.clone(),
                        t.received_at.to_string(),
                        format!("{:?}", t.channel),
                        format!("{:?}", t.kind),
                        t.category.clone(),
                        t.category_path.clone(),
                        t.title.clone(),
                        t.status.as_str().to_owned(),
                        t.lead_unit
                            .as_ref()
                            .map(|u| u.name.clone())
                            .unwrap_or_default(),
                        t.due_at.map(|d| d.to_string()).unwrap_or_default(),
                        t.overdue.to_string(),
                        t.closure
                            .as_ref()
                            .map(|c| format!("{:?}", c.outcome))
                            .unwrap_or_default(),
                    ])
                    .map_err(csv_error)?;
                rows += 1;
            }
            if tickets.len() < page.limit as usize || rows as usize >= EXPORT_LIMIT {
                break;
            }
            page.before = tickets
                .last()
                .and_then(|t| domain::ids::TicketNo::parse(&t.no).ok());
        }
        let csv = String::from_utf8(
            writer
                .into_inner()
                .map_err(|e| AppError::Internal(e.to_string()))?,
        )
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let command = AdminCommand::RecordExport {
            what: "tickets".into(),
            filter: description,
            rows,
            with_contacts: false,
            reason: reason.to_owned(),
        };
        let audit_seq = self
            .submit(
                actor,
                now,
                Command::Admin {
                    command,
                    secret: None,
                },
            )
            .await?
            .last_seq()
            .unwrap_or_default();
        Ok(Export {
            csv,
            rows,
            audit_seq,
        })
    }
}
