//! The tamper-evident record: one append-only log whose entries are hash-chained. Each entry's
//! hash commits to the previous entry's hash and to the entry's own canonical bytes, so changing,
//! removing, inserting or reordering any entry breaks the chain from that entry on.
//!
//! Canonical bytes of entry `seq` (all integers big-endian, strings UTF-8 with a 4-byte length):
//! `"minsheng.log.v1" ‖ prev[32] ‖ seq:u64 ‖ at_ms:i64 ‖ len‖actor ‖ has_ticket:u8 ‖ ticket:i64 ‖
//! len‖kind ‖ len‖body`, and `hash = SHA-256(canonical bytes)`. The body is the event's JSON
//! exactly as stored; verification hashes the stored bytes, never a re-serialization, so the
//! encoding of old entries never has to be reproduced.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::access::AccessEvent;
use crate::admin::AdminEvent;
use crate::ids::TicketNo;
use crate::ticket::TicketEvent;
use crate::time::LogTime;

const DOMAIN_TAG: &[u8] = b"minsheng.log.v1";

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// What the first entry links to.
    pub const GENESIS: Hash = Hash([0; 32]);

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    pub fn parse(text: &str) -> Option<Hash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut out).ok()?;
        Some(Hash(out))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", &self.to_hex()[..12])
    }
}

/// The fields of an entry that its hash commits to.
#[derive(Clone, Copy, Debug)]
pub struct EntryFields<'a> {
    pub seq: u64,
    pub at_ms: i64,
    pub actor: &'a str,
    pub ticket: Option<i64>,
    pub kind: &'a str,
    pub body: &'a [u8],
}

pub fn entry_hash(prev: &Hash, e: &EntryFields<'_>) -> Hash {
    let mut h = Sha256::new();
    h.update(DOMAIN_TAG);
    h.update(prev.0);
    h.update(e.seq.to_be_bytes());
    h.update(e.at_ms.to_be_bytes());
    for (i, part) in [e.actor.as_bytes(), &[], e.kind.as_bytes(), e.body]
        .into_iter()
        .enumerate()
    {
        if i == 1 {
            h.update([u8::from(e.ticket.is_some())]);
            h.update(e.ticket.unwrap_or(0).to_be_bytes());
            continue;
        }
        h.update((part.len() as u32).to_be_bytes());
        h.update(part);
    }
    Hash(h.finalize().into())
}

/// An entry as the store holds it, before anything is trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub ticket: Option<i64>,
    pub kind: String,
    pub body: Vec<u8>,
    pub prev: String,
    pub hash: String,
}

impl StoredEntry {
    pub fn fields(&self) -> EntryFields<'_> {
        EntryFields {
            seq: self.seq as u64,
            at_ms: self.at_ms,
            actor: &self.actor,
            ticket: self.ticket,
            kind: &self.kind,
            body: &self.body,
        }
    }

    pub fn decode(&self) -> Result<LogEntry, String> {
        let at = LogTime::from_millisecond(self.at_ms)
            .map_err(|e| format!("entry {}: bad time: {e}", self.seq))?;
        let ticket = self
            .ticket
            .map(TicketNo::from_storage)
            .transpose()
            .map_err(|e| format!("entry {}: {e}", self.seq))?;
        let event = LogEvent::from_body(&self.kind, &self.body)
            .map_err(|e| format!("entry {}: {e}", self.seq))?;
        Ok(LogEntry {
            seq: self.seq as u64,
            at,
            actor: self.actor.clone(),
            ticket,
            event,
        })
    }
}

/// Where the chain first breaks, named so a person can find the row.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error(
        "entry {found} stands where entry {expected} should: entries were removed, inserted or reordered at entry {expected}"
    )]
    Sequence { expected: u64, found: i64 },
    #[error(
        "entry {seq} does not link to entry {previous}: the entry before it was changed, removed or reordered"
    )]
    Link { seq: u64, previous: u64 },
    #[error("entry {seq} was changed: its hash does not match its contents")]
    Content { seq: u64 },
    #[error("entry {seq} is malformed: {what}")]
    Malformed { seq: u64, what: String },
    #[error(
        "entry {seq} has hash {found}, but the recorded head says {expected}: history up to it was rewritten"
    )]
    HeadMismatch {
        seq: u64,
        expected: String,
        found: String,
    },
    #[error(
        "the recorded head is entry {seq}, but the log ends at entry {last}: entries were removed from the end"
    )]
    Truncated { seq: u64, last: u64 },
}

impl ChainBreak {
    /// The sequence number of the first entry that is wrong.
    pub fn first_bad_entry(&self) -> u64 {
        match self {
            Self::Sequence { expected, .. } => *expected,
            Self::Link { seq, .. }
            | Self::Content { seq }
            | Self::Malformed { seq, .. }
            | Self::HeadMismatch { seq, .. } => *seq,
            Self::Truncated { last, .. } => last + 1,
        }
    }
}

/// Checks entries one at a time, in the order of their sequence numbers, so a log of any size
/// verifies in constant memory.
#[derive(Clone, Debug)]
pub struct ChainVerifier {
    next_seq: u64,
    prev: Hash,
    expected_head: Option<(u64, Hash)>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self {
            next_seq: 1,
            prev: Hash::GENESIS,
            expected_head: None,
        }
    }

    /// Also checks that entry `seq` has exactly `hash`: a head written down earlier by a
    /// supervisor. This catches a rewrite that recomputed every hash after it.
    pub fn expecting_head(mut self, seq: u64, hash: Hash) -> Self {
        self.expected_head = Some((seq, hash));
        self
    }

    pub fn check(&mut self, entry: &StoredEntry) -> Result<(), ChainBreak> {
        let seq = self.next_seq;
        if entry.seq != seq as i64 {
            return Err(ChainBreak::Sequence {
                expected: seq,
                found: entry.seq,
            });
        }
        let malformed = |what: &str| ChainBreak::Malformed {
            seq,
            what: what.to_owned(),
        };
        let prev =
            Hash::parse(&entry.prev).ok_or_else(|| malformed("prev is not a 64-digit hex hash"))?;
        let stored =
            Hash::parse(&entry.hash).ok_or_else(|| malformed("hash is not a 64-digit hex hash"))?;
        if prev != self.prev {
            return Err(ChainBreak::Link {
                seq,
                previous: seq - 1,
            });
        }
        if entry_hash(&prev, &entry.fields()) != stored {
            return Err(ChainBreak::Content { seq });
        }
        if let Some((head_seq, head_hash)) = self.expected_head
            && head_seq == seq
            && head_hash != stored
        {
            return Err(ChainBreak::HeadMismatch {
                seq,
                expected: head_hash.to_hex(),
                found: stored.to_hex(),
            });
        }
        self.prev = stored;
        self.next_seq += 1;
        Ok(())
    }

    /// Call after the last entry: the number of entries and the head hash.
    pub fn finish(self) -> Result<ChainHead, ChainBreak> {
        let last = self.next_seq - 1;
        if let Some((head_seq, _)) = self.expected_head
            && head_seq > last
        {
            return Err(ChainBreak::Truncated {
                seq: head_seq,
                last,
            });
        }
        Ok(ChainHead {
            seq: last,
            hash: self.prev,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: Hash,
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.hash)
    }
}

/// Any event the log holds.
#[derive(Clone, Debug, PartialEq)]
pub enum LogEvent {
    Ticket(TicketEvent),
    Admin(AdminEvent),
    /// A look at personal data (the access trail, `access`).
    Access(AccessEvent),
    /// Call events reported by the call centre's ACD/CTI (`calls`).
    Call(crate::calls::CallLogEvent),
}

impl LogEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ticket(e) => e.kind(),
            Self::Admin(e) => e.kind(),
            Self::Access(e) => e.kind(),
            Self::Call(e) => e.kind(),
        }
    }

    /// The canonical body: the event as JSON, fields in declaration order.
    pub fn to_body(&self) -> Vec<u8> {
        let result = match self {
            Self::Ticket(e) => serde_json::to_vec(e),
            Self::Admin(e) => serde_json::to_vec(e),
            Self::Access(e) => serde_json::to_vec(e),
            Self::Call(e) => serde_json::to_vec(e),
        };
        // Serializing these plain data types cannot fail (no maps with non-string keys, no
        // custom serializers that error).
        result.unwrap_or_default()
    }

    pub fn from_body(kind: &str, body: &[u8]) -> Result<Self, serde_json::Error> {
        if kind.starts_with("ticket.") {
            serde_json::from_slice(body).map(Self::Ticket)
        } else if kind.starts_with("access.") {
            serde_json::from_slice(body).map(Self::Access)
        } else if kind.starts_with("call.") {
            serde_json::from_slice(body).map(Self::Call)
        } else {
            serde_json::from_slice(body).map(Self::Admin)
        }
    }

    /// The event as the log will hold it: its body, and the event read back from that body.
    /// A writer folds the read-back event, never the one it decided, so what it projects is
    /// what a rebuild from the stored bytes projects, even for a value that does not survive
    /// the trip through JSON unchanged.
    pub fn recorded(&self) -> Result<Recorded, serde_json::Error> {
        let body = self.to_body();
        let event = Self::from_body(self.kind(), &body)?;
        Ok(Recorded { body, event })
    }
}

/// An event with the exact bytes the log stores for it (see [`LogEvent::recorded`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub body: Vec<u8>,
    pub event: LogEvent,
}

/// A decoded, trusted entry.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    pub seq: u64,
    pub at: LogTime,
    pub actor: String,
    pub ticket: Option<TicketNo>,
    pub event: LogEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<StoredEntry> {
        let mut prev = Hash::GENESIS;
        (1..=n)
            .map(|seq| {
                let body = format!("{{\"kind\":\"ticket.urged\",\"n\":{seq}}}").into_bytes();
                let fields = EntryFields {
                    seq,
                    at_ms: 1_000 * seq as i64,
                    actor: "op1",
                    ticket: Some(7),
                    kind: "ticket.urged",
                    body: &body,
                };
                let hash = entry_hash(&prev, &fields);
                let entry = StoredEntry {
                    seq: seq as i64,
                    at_ms: fields.at_ms,
                    actor: "op1".into(),
                    ticket: Some(7),
                    kind: "ticket.urged".into(),
                    body: body.clone(),
                    prev: prev.to_hex(),
                    hash: hash.to_hex(),
                };
                prev = hash;
                entry
            })
            .collect()
    }

    fn verify(entries: &[StoredEntry]) -> Result<ChainHead, ChainBreak> {
        let mut v = ChainVerifier::new();
        for e in entries {
            v.check(e)?;
        }
        v.finish()
    }

    #[test]
    fn the_canonical_encoding_is_stable() {
        // If this changes, every installed log stops verifying: never change it.
        let fields = EntryFields {
            seq: 1,
            at_ms: 1_764_000_000_000,
            actor: "op1",
            ticket: Some(2_611_260_000_042),
            kind: "ticket.signed",
            body: b"{}",
        };
        expect_test::expect!["741c88f9a68a36450bc9f95a80538d794d53d30ec66b247c0e838c4571eaaf8c"]
            .assert_eq(&entry_hash(&Hash::GENESIS, &fields).to_hex());
    }

    #[test]
    fn an_event_reads_back_from_its_bytes_exactly_as_decided() {
        use crate::ticket::{Coordinates, Location};
        // Shortest decimal forms that a parser without correct rounding reads one bit off.
        let mut request = crate::ticket::tests::fixture::request(false);
        request.location = Location {
            coordinates: Some(Coordinates::parse(29.608410659692538, -21.062596072293374).unwrap()),
            ..request.location
        };
        let event = LogEvent::Ticket(TicketEvent::Received {
            request,
            contact: None,
        });
        let recorded = event.recorded().unwrap();
        assert_eq!(recorded.event, event);
        assert_eq!(recorded.body, event.to_body());
    }

    #[test]
    fn an_intact_chain_verifies_to_its_head() {
        let entries = chain(5);
        let head = verify(&entries).unwrap();
        assert_eq!(head.seq, 5);
        assert_eq!(head.hash.to_hex(), entries[4].hash);
    }

    #[test]
    fn every_kind_of_tampering_names_the_first_bad_entry() {
        let mut changed = chain(5);
        changed[2].body = b"{\"kind\":\"ticket.urged\",\"n\":99}".to_vec();
        assert_eq!(
            verify(&changed).unwrap_err(),
            ChainBreak::Content { seq: 3 }
        );

        let mut removed = chain(5);
        removed.remove(1);
        assert_eq!(verify(&removed).unwrap_err().first_bad_entry(), 2);

        let mut reordered = chain(5);
        reordered.swap(1, 2);
        reordered[1].seq = 2;
        reordered[2].seq = 3;
        assert_eq!(verify(&reordered).unwrap_err().first_bad_entry(), 2);

        let mut relinked = chain(5);
        relinked[3].prev = relinked[1].hash.clone();
        assert_eq!(
            verify(&relinked).unwrap_err(),
            ChainBreak::Link {
                seq: 4,
                previous: 3
            }
        );
    }

    #[test]
    fn a_recorded_head_catches_a_recomputed_chain_and_truncation() {
        let entries = chain(5);
        let head = Hash::parse(&entries[2].hash).unwrap();
        let mut v = ChainVerifier::new().expecting_head(3, Hash([1; 32]));
        let err = entries.iter().try_for_each(|e| v.check(e)).unwrap_err();
        assert_eq!(err.first_bad_entry(), 3);
        let mut v = ChainVerifier::new().expecting_head(9, head);
        entries.iter().for_each(|e| v.check(e).unwrap());
        assert_eq!(
            v.finish().unwrap_err(),
            ChainBreak::Truncated { seq: 9, last: 5 }
        );
    }
}
