//! What callers submit to the writer and what they get back.

use domain::access::AccessEvent;
use domain::admin::{AdminCommand, AdminEvent};
use domain::calls::CallEvent;
use domain::ids::{CallEventId, CallSource, ContactId, TicketNo};
use domain::numbers::SealedNumber;
use domain::org::Actor;
use domain::ticket::{NewTicket, Ticket, TicketAction, TicketEvent};
use domain::time::LogTime;
use jiff::Timestamp;

/// One command with who gives it and when. `now` is at the log's resolution: it is where the
/// clock enters the write path (see `domain::time`).
#[derive(Clone, Debug)]
pub struct Submission {
    pub actor: Actor,
    pub now: LogTime,
    pub command: Command,
}

#[derive(Clone, Debug)]
pub enum Command {
    /// 受理. The writer picks the ticket number; the contact arrives already sealed.
    Receive {
        request: NewTicket,
        contact: Option<SealedContact>,
        answer_on_call: Option<String>,
        /// A photo the citizen attached, sealed like a contact.
        photo: Option<SealedPhoto>,
        /// Phone and ID numbers masked out of the request's text, sealed.
        numbers: Option<SealedNumbers>,
    },
    Ticket {
        no: TicketNo,
        action: TicketAction,
        /// Phone and ID numbers masked out of the action's text, sealed.
        numbers: Option<SealedNumbers>,
    },
    /// `secret` carries what must be stored but never logged (a password or token hash).
    Admin {
        command: AdminCommand,
        secret: Option<Secret>,
    },
    /// Records a delivery attempt of an outbox message. Operational, not a domain event: it is
    /// kept with the message, not in the audit log.
    Deliver { seq: u64, outcome: crate::Delivery },
    /// Gives up every undelivered message created before `created_before` (stale news, or a
    /// demo's simulated past), with the reason.
    ExpireOutbox {
        created_before: Timestamp,
        reason: String,
    },
    /// Records a look at personal data in the access trail. A caller lookup is decided against
    /// the reader's lookups of the last hour and may be recorded as its refusal instead.
    Access(AccessEvent),
    /// Records call events from the call centre's ACD/CTI. Events already recorded (by source and
    /// event id) are skipped; `callers` are the sealed numbers the `arrived` events name, stored
    /// only with an event that is new.
    RecordCalls {
        source: CallSource,
        events: Vec<CallEvent>,
        callers: Vec<SealedContact>,
    },
}

/// A photo as stored: encrypted, with the id it is bound to and its media type.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedPhoto {
    pub id: u64,
    pub key_id: u32,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub content_type: String,
}

impl std::fmt::Debug for SealedPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedPhoto({}, {}, {} bytes)",
            self.id,
            self.content_type,
            self.ciphertext.len()
        )
    }
}

/// Numbers typed into a command's text, as stored: the list of what was masked (which the log
/// records) and the numbers as written, encrypted, bound to a random id.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedNumbers {
    pub id: u64,
    pub listed: Vec<SealedNumber>,
    pub key_id: u32,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for SealedNumbers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedNumbers({}, {} number(s))",
            self.id,
            self.listed.len()
        )
    }
}

/// Sealed numbers as read back: the log entry they belong to, and the ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredNumbers {
    pub id: u64,
    /// The first log entry of the command the numbers were typed into.
    pub seq: u64,
    pub key_id: u32,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for StoredNumbers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredNumbers({}, entry {})", self.id, self.seq)
    }
}

#[derive(Clone)]
pub enum Secret {
    PasswordHash(String),
    TokenHash([u8; 32]),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::PasswordHash(_) => "PasswordHash(…)",
            Self::TokenHash(_) => "TokenHash(…)",
        })
    }
}

/// A contact sealed by the application's vault: the store never sees plaintext.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedContact {
    pub id: ContactId,
    pub key_id: u32,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    /// Keyed hash of the normalised phone number, for caller history.
    pub phone_index: Option<[u8; 32]>,
}

impl std::fmt::Debug for SealedContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedContact({}, key {}, {} bytes)",
            self.id,
            self.key_id,
            self.ciphertext.len()
        )
    }
}

/// What a committed command did.
#[derive(Clone, Debug)]
pub enum Committed {
    Ticket {
        /// The ticket the command named (the new one for `Receive`).
        no: TicketNo,
        /// The log entries written, with their sequence numbers.
        events: Vec<(u64, TicketNo, TicketEvent)>,
        /// The state after the command of every ticket it touched.
        tickets: Vec<Ticket>,
    },
    Admin {
        seq: u64,
        event: AdminEvent,
    },
    /// A delivery attempt was recorded (`recorded` is false when the message was already
    /// delivered or given up, or does not exist).
    Delivery {
        seq: u64,
        recorded: bool,
    },
    /// So many undelivered messages were given up.
    Expired {
        count: u64,
    },
    /// A look was recorded: the event as logged (a refusal, when the look was refused).
    Access {
        seq: u64,
        event: AccessEvent,
    },
    /// Call events were reported: the log entry holding the new ones (none when every one had
    /// been recorded before), and which were new and which repeats.
    Calls {
        seq: Option<u64>,
        recorded: Vec<CallEventId>,
        repeated: Vec<CallEventId>,
    },
}

impl Committed {
    /// The sequence number of the last log entry written (none for a delivery record).
    pub fn last_seq(&self) -> Option<u64> {
        match self {
            Self::Ticket { events, .. } => events.last().map(|(seq, _, _)| *seq),
            Self::Admin { seq, .. } | Self::Access { seq, .. } => Some(*seq),
            Self::Calls { seq, .. } => *seq,
            Self::Delivery { .. } | Self::Expired { .. } => None,
        }
    }

    /// The state of the named ticket after the command.
    pub fn ticket(&self) -> Option<&Ticket> {
        match self {
            Self::Ticket { no, tickets, .. } => tickets.iter().find(|t| t.no == *no),
            Self::Admin { .. }
            | Self::Delivery { .. }
            | Self::Expired { .. }
            | Self::Access { .. }
            | Self::Calls { .. } => None,
        }
    }
}
