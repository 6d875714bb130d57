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

/// A cell as a spreadsheet may safely open it: text a spreadsheet program would run as a formula
/// (starting `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading apostrophe, which
/// shows it as the text it is. Plain numbers (`-3`, `+1.5`) stay numbers. Every CSV minsheng
/// writes passes its cells through this.
pub fn spreadsheet_cell(text: &str) -> std::borrow::Cow<'_, str> {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = text.trim().parse::<f64>().is_ok_and(f64::is_finite);
    if risky && !number {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

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
        let description = filter.describe();
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
        let registry = self.registry();
        loop {
            // The export records itself below, with its whole filter and row count.
            let found = self.list_unrecorded(actor, now, page.clone()).await?;
            let tickets: Vec<_> = found
                .iter()
                .map(|t| crate::views::TicketView::of(t, &registry, now, None))
                .collect();
            for t in &tickets {
                let record = [
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
                ];
                writer
                    .write_record(
                        record
                            .iter()
                            .map(|cell| spreadsheet_cell(cell).into_owned()),
                    )
                    .map_err(csv_error)?;
                rows += 1;
            }
            if tickets.len() < page.limit as usize || rows as usize >= EXPORT_LIMIT {
                break;
            }
            match tickets
                .last()
                .and_then(|t| domain::ids::TicketNo::parse(&t.no).ok())
            {
                Some(last) => page.order = store::TicketOrder::NewestBefore(last),
                None => break,
            }
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

#[cfg(test)]
mod tests {
    use super::spreadsheet_cell;

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        for (cell, safe) in [
            ("=2+5", "'=2+5"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-3", "-3"),
            ("+1.5", "+1.5"),
            ("路灯不亮", "路灯不亮"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(spreadsheet_cell(cell), safe, "{cell:?}");
        }
    }
}
