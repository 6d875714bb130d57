//! Phone and ID numbers typed into free text (a description, a note, a reply): masked in the
//! command before it reaches the store, so the log and every screen hold `138****1234`, and the
//! numbers as written sealed beside the log, readable only through a logged reveal. A citizen
//! often says "联系电话 13812341234" in the request itself, and an operator types what they hear.
//! On a confidential (保密) ticket nothing of a number is kept in the text.

use domain::numbers::{Masking, any_in, mask_texts};
use jiff::Timestamp;
use store::Command;

use crate::App;
use crate::error::{AppError, AppResult};

impl App {
    /// Masks the numbers in a ticket command's text in place and seals them into the command.
    pub(crate) async fn shield(&self, now: Timestamp, command: &mut Command) -> AppResult<()> {
        let masking = match command {
            Command::Receive {
                request,
                answer_on_call,
                ..
            } => {
                let texts = request.texts_mut().into_iter().map(|(_, t)| t.as_str());
                if !any_in(texts.chain(answer_on_call.as_deref())) {
                    return Ok(());
                }
                masking(request.confidential)
            }
            Command::Ticket { no, action, .. } => {
                if !any_in(action.texts_mut().into_iter().map(|(_, t)| t.as_str())) {
                    return Ok(());
                }
                // Only now is the ticket read: most actions have no number in their text.
                let ticket = self.store.ticket(*no).await?;
                let ticket = ticket.ok_or(domain::DomainError::UnknownTicket(*no))?;
                masking(ticket.request.confidential)
            }
            _ => return Ok(()),
        };
        let (written, slot) = match command {
            Command::Receive {
                request,
                answer_on_call,
                numbers,
                ..
            } => {
                let mut texts = request.texts_mut();
                if let Some(answer) = answer_on_call.as_mut() {
                    texts.push(("answer", answer));
                }
                (mask_texts(texts, masking), numbers)
            }
            Command::Ticket {
                action, numbers, ..
            } => (mask_texts(action.texts_mut(), masking), numbers),
            _ => {
                return Err(AppError::Internal(
                    "the command changed while masking".into(),
                ));
            }
        };
        *slot = Some(self.vault.seal_numbers(now, &written)?);
        Ok(())
    }
}

fn masking(confidential: bool) -> Masking {
    if confidential {
        Masking::Full
    } else {
        Masking::Partial
    }
}
