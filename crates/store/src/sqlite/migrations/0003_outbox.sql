-- Messages for citizens (通知), written with the event that calls for each; see store::outbox.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY,   -- the log entry that called for it; the delivery's idempotency key
    ticket     INTEGER NOT NULL,
    notice     TEXT    NOT NULL,      -- dispatched | replied | closed
    contact_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,      -- due from
    sent_at    INTEGER,
    failed_at  INTEGER,               -- given up
    last_error TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (next_at) WHERE sent_at IS NULL AND failed_at IS NULL;
