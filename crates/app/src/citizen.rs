//! The citizen page's use cases (市民自助): submit a request without an account, get its number
//! and a private follow-up code, follow it with both, and rate the result once the unit has
//! replied. The rating is a follow-up record like a call-back, so it counts in the same KPIs.
//!
//! The code is shown once and kept only as a SHA-256 in the request; a wrong code and an unknown
//! number get the same answer, so neither can be probed.

use domain::DomainError;
use domain::ids::{CategoryCode, TicketNo, TierCode};
use domain::org::{Actor, ActorId, Affiliation, Role};
use domain::privacy::Contact;
use domain::ticket::{
    Channel, FollowUpOutcome, RequestKind, Satisfaction, Status, Ticket, TicketAction,
};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::App;
use crate::error::{AppError, AppResult};
use crate::tickets::NewTicketInput;

/// What a citizen fills in.
#[derive(Clone, Debug, Default)]
pub struct CitizenRequest {
    pub category: String,
    pub address: String,
    pub description: String,
    pub confidential: bool,
    pub name: Option<String>,
    /// For the notifications and the centre's call-back; optional.
    pub phone: Option<String>,
    /// A photo of the problem (JPEG, PNG or WebP).
    pub photo: Option<Vec<u8>>,
    /// The citizen ticked "publish my request" (同意公开).
    pub public: bool,
}

/// What the citizen takes away.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub no: String,
    pub no_grouped: String,
    /// Shown once; only its hash is kept.
    pub code: String,
}

/// A citizen's own request, in plain words.
#[derive(Clone, Debug)]
pub struct CitizenView {
    pub no: String,
    pub no_grouped: String,
    pub status: Status,
    pub category: String,
    pub address: String,
    pub description: String,
    /// `(when, what happened)`, oldest first, in plain words.
    pub steps: Vec<(Timestamp, String)>,
    /// The unit's answer, once it has replied.
    pub reply: Option<String>,
    /// The unit has replied and the result waits for the citizen's (or a call-back's) verdict.
    pub can_rate: bool,
}

/// The citizen's verdict on the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rating {
    Solved(Satisfaction),
    NotSolved,
}

const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const CODE_LENGTH: usize = 12;

/// The page submits as an outside channel of the centre's own (the audit log shows
/// `system:citizen-web`).
fn submitter() -> Actor {
    Actor {
        id: ActorId::System("citizen-web"),
        affiliation: Affiliation::Channel,
        roles: [Role::ChannelClient].into_iter().collect(),
    }
}

/// A rating is the citizen answering the follow-up themselves, recorded as the centre's
/// follow-up would be.
fn rater() -> Actor {
    Actor {
        id: ActorId::System("citizen-web"),
        affiliation: Affiliation::Centre,
        roles: [Role::FollowUpAgent].into_iter().collect(),
    }
}

fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().to_uppercase().as_bytes()))
}

fn new_code() -> AppResult<String> {
    let mut bytes = [0u8; CODE_LENGTH];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| CODE_ALPHABET[*b as usize % CODE_ALPHABET.len()] as char)
        .collect())
}

impl App {
    /// Records a request from the citizen page; the receipt carries the private code.
    pub async fn citizen_submit(
        &self,
        now: Timestamp,
        request: CitizenRequest,
    ) -> AppResult<Receipt> {
        let category = CategoryCode::parse(request.category.trim())
            .map_err(|_| DomainError::invalid("category", "choose what the problem is about"))?;
        let contact = Contact::new(request.name.as_deref(), request.phone.as_deref(), None)?;
        let code = new_code()?;
        let input = NewTicketInput {
            channel: Channel::Web,
            kind: RequestKind::Help,
            urgency: Some(TierCode::parse("general").map_err(DomainError::from)?),
            category,
            title: None,
            description: request.description,
            address: request.address,
            division: None,
            coordinates: None,
            confidential: request.confidential,
            contact,
            answer_on_call: None,
            attributes: Default::default(),
            media_url: None,
            citizen_code: Some(hash_code(&code)),
            photo: request.photo,
            public: request.public && !request.confidential,
        };
        let view = self.receive(&submitter(), now, input).await?;
        Ok(Receipt {
            no: view.no,
            no_grouped: view.no_grouped,
            code,
        })
    }

    /// The citizen's own request, if the number and the code belong together.
    pub async fn citizen_view(&self, no: &str, code: &str) -> AppResult<CitizenView> {
        let ticket = self.citizen_ticket(no, code).await?;
        let entries = self.store.ticket_log(ticket.no).await?;
        let steps = entries
            .iter()
            .filter_map(|e| match &e.event {
                domain::audit::LogEvent::Ticket(event) => {
                    crate::open311::public_step(event).map(|s| (e.at.timestamp(), s.to_owned()))
                }
                domain::audit::LogEvent::Admin(_)
                | domain::audit::LogEvent::Access(_)
                | domain::audit::LogEvent::Call(_) => None,
            })
            .collect();
        let registry = self.registry();
        let reply = ticket
            .assignments
            .last()
            .and_then(|a| a.reply.as_ref())
            .map(|r| r.result.clone());
        Ok(CitizenView {
            no: ticket.no.to_string(),
            no_grouped: ticket.no.grouped(),
            status: ticket.status,
            category: registry.category_path(&ticket.request.category),
            address: ticket.request.location.address.clone(),
            description: ticket.request.description.clone(),
            steps,
            reply,
            can_rate: ticket.status == Status::Replied,
        })
    }

    /// The citizen's verdict on the unit's reply: solved closes the ticket, not solved sends it
    /// back to the unit (重办), exactly as a call-back would.
    pub async fn citizen_rate(
        &self,
        now: Timestamp,
        no: &str,
        code: &str,
        rating: Rating,
        unit_contacted: bool,
    ) -> AppResult<CitizenView> {
        let ticket = self.citizen_ticket(no, code).await?;
        if ticket.status != Status::Replied {
            return Err(AppError::Conflict(
                "this request has no reply waiting for your rating".into(),
            ));
        }
        let (solved, satisfaction) = match rating {
            Rating::Solved(s) => (true, s),
            Rating::NotSolved => (false, Satisfaction::Dissatisfied),
        };
        let action = TicketAction::RecordFollowUp {
            outcome: FollowUpOutcome::Reached {
                unit_contacted,
                solved,
                satisfaction,
            },
            comment: "市民在网页上评价".into(),
        };
        self.act(&rater(), now, ticket.no, action).await?;
        self.citizen_view(no, code).await
    }

    async fn citizen_ticket(&self, no: &str, code: &str) -> AppResult<Ticket> {
        let not_found = || {
            AppError::NotFound(
                "no request has this number and code; check both (the code is on your receipt)"
                    .into(),
            )
        };
        let no = TicketNo::parse(no.trim()).map_err(|_| not_found())?;
        let ticket = self.store.ticket(no).await?.ok_or_else(not_found)?;
        let given = hash_code(code);
        match &ticket.request.citizen_code {
            Some(kept) if bool::from(kept.as_bytes().ct_eq(given.as_bytes())) => Ok(ticket),
            _ => Err(not_found()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_hashed_case_blind() {
        let code = new_code().unwrap();
        assert_eq!(code.len(), CODE_LENGTH);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_eq!(
            hash_code(&code),
            hash_code(&format!(" {} ", code.to_lowercase()))
        );
        assert_ne!(new_code().unwrap(), code);
    }
}
