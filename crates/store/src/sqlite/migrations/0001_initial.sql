-- The hash-chained, append-only log: the record everything else is rebuilt from.
CREATE TABLE log (
    seq    INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,          -- UTC milliseconds
    actor  TEXT    NOT NULL,
    ticket INTEGER,                   -- NULL for admin events
    kind   TEXT    NOT NULL,
    body   TEXT    NOT NULL,          -- the event's canonical JSON, hashed as stored
    prev   TEXT    NOT NULL,
    hash   TEXT    NOT NULL
) STRICT;
CREATE INDEX log_by_ticket ON log (ticket, seq) WHERE ticket IS NOT NULL;
CREATE INDEX log_admin ON log (kind, seq) WHERE ticket IS NULL;
CREATE TRIGGER log_is_append_only_update BEFORE UPDATE ON log
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_is_append_only_delete BEFORE DELETE ON log
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;

-- Projection: one row per ticket, the folded state plus the columns queries filter on.
CREATE TABLE tickets (
    no          INTEGER PRIMARY KEY,
    status      TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    lead_unit   TEXT,
    received_at INTEGER NOT NULL,
    due_at      INTEGER,                  -- the deadline running now, if any
    updated_at  INTEGER NOT NULL,
    contact_id  INTEGER,
    version     INTEGER NOT NULL,
    state       TEXT    NOT NULL
) STRICT;
CREATE INDEX tickets_by_status ON tickets (status, no);
CREATE INDEX tickets_by_due ON tickets (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX tickets_by_received ON tickets (received_at);
CREATE INDEX tickets_by_updated ON tickets (updated_at);
CREATE INDEX tickets_by_category ON tickets (category, no);
CREATE INDEX tickets_by_contact ON tickets (contact_id) WHERE contact_id IS NOT NULL;

-- Projection: which units a ticket is with now (lead and co-units).
CREATE TABLE ticket_units (
    unit TEXT    NOT NULL,
    no   INTEGER NOT NULL REFERENCES tickets (no),
    lead INTEGER NOT NULL,
    PRIMARY KEY (unit, no)
) STRICT, WITHOUT ROWID;
CREATE INDEX ticket_units_by_no ON ticket_units (no);

-- The privacy vault: contacts sealed by the application; never in the log.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    key_id      INTEGER NOT NULL,
    nonce       BLOB    NOT NULL,
    ciphertext  BLOB    NOT NULL,
    phone_index BLOB
) STRICT;
CREATE INDEX contacts_by_phone ON contacts (phone_index) WHERE phone_index IS NOT NULL;

-- Ticket numbers: one counter per local day.
CREATE TABLE day_counters (
    day  TEXT    PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

-- Secrets beside the log.
CREATE TABLE credentials (
    user          TEXT    PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    id         TEXT    PRIMARY KEY,
    hash       BLOB    NOT NULL UNIQUE,
    user       TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT;
CREATE INDEX tokens_by_user ON tokens (user);
