-- Messages for citizens (通知), written with the event that calls for each; see store::outbox.
CREATE TABLE outbox (
    seq        BIGINT PRIMARY KEY,    -- the log entry that called for it; the delivery's idempotency key
    ticket     BIGINT NOT NULL,
    notice     TEXT   NOT NULL,       -- dispatched | replied | closed
    contact_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    BIGINT NOT NULL,       -- due from
    sent_at    BIGINT,
    failed_at  BIGINT,                -- given up
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE sent_at IS NULL AND failed_at IS NULL;
