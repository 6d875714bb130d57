-- The hash-chained, append-only log: the record everything else is rebuilt from.
CREATE TABLE log (
    seq    BIGINT PRIMARY KEY,
    at     BIGINT NOT NULL,          -- UTC milliseconds
    actor  TEXT   NOT NULL,
    ticket BIGINT,                   -- NULL for admin events
    kind   TEXT   NOT NULL,
    body   TEXT   NOT NULL,          -- the event's canonical JSON, hashed as stored
    prev   TEXT   NOT NULL,
    hash   TEXT   NOT NULL
);
CREATE INDEX log_by_ticket ON log (ticket, seq) WHERE ticket IS NOT NULL;
CREATE INDEX log_admin ON log (kind, seq) WHERE ticket IS NULL;

CREATE FUNCTION log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the log is append-only';
END $$;
CREATE TRIGGER log_is_append_only_row BEFORE UPDATE OR DELETE ON log
    FOR EACH ROW EXECUTE FUNCTION log_is_append_only();
CREATE TRIGGER log_is_append_only_truncate BEFORE TRUNCATE ON log
    FOR EACH STATEMENT EXECUTE FUNCTION log_is_append_only();

-- The end of the chain. Every writer, on every node, locks this one row (FOR UPDATE) for the
-- whole of its append transaction: appends are serialised, so the chain cannot fork, and sequence
-- numbers come from here, never from a sequence (sequences leave gaps on rollback).
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT   NOT NULL,
    at   BIGINT NOT NULL
);
INSERT INTO chain_head (id, seq, hash, at) VALUES (1, 0, repeat('0', 64), 0);

-- Projection: one row per ticket, the folded state plus the columns queries filter on.
CREATE TABLE tickets (
    no          BIGINT PRIMARY KEY,
    status      TEXT   NOT NULL,
    category    TEXT   NOT NULL,
    lead_unit   TEXT,
    received_at BIGINT NOT NULL,
    due_at      BIGINT,
    updated_at  BIGINT NOT NULL,
    contact_id  BIGINT,
    version     BIGINT NOT NULL,
    state       TEXT   NOT NULL
);
CREATE INDEX tickets_by_status ON tickets (status, no);
CREATE INDEX tickets_by_due ON tickets (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX tickets_by_received ON tickets (received_at);
CREATE INDEX tickets_by_updated ON tickets (updated_at);
CREATE INDEX tickets_by_category ON tickets (category text_pattern_ops, no);
CREATE INDEX tickets_by_contact ON tickets (contact_id) WHERE contact_id IS NOT NULL;

-- Projection: which units a ticket is with now (lead and co-units).
CREATE TABLE ticket_units (
    unit TEXT   NOT NULL,
    no   BIGINT NOT NULL REFERENCES tickets (no),
    lead BOOLEAN NOT NULL,
    PRIMARY KEY (unit, no)
);
CREATE INDEX ticket_units_by_no ON ticket_units (no);

-- The privacy vault: contacts sealed by the application; never in the log.
CREATE TABLE contacts (
    id          BIGINT PRIMARY KEY,
    key_id      BIGINT NOT NULL,
    nonce       BYTEA  NOT NULL,
    ciphertext  BYTEA  NOT NULL,
    phone_index BYTEA
);
CREATE INDEX contacts_by_phone ON contacts (phone_index) WHERE phone_index IS NOT NULL;

-- Ticket numbers: one counter per local day.
CREATE TABLE day_counters (
    day  TEXT   PRIMARY KEY,
    last BIGINT NOT NULL
);

-- Secrets beside the log.
CREATE TABLE credentials (
    "user"        TEXT   PRIMARY KEY,
    password_hash TEXT   NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE tokens (
    id         TEXT   PRIMARY KEY,
    hash       BYTEA  NOT NULL UNIQUE,
    "user"     TEXT   NOT NULL,
    label      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX tokens_by_user ON tokens ("user");
