-- Calls (来电) as the call centre's ACD/CTI reports them (see store/src/write/calls.rs and
-- docs/calls.md). The events themselves are in the log (`call.events_recorded`); these are what
-- is derived from them, written in the same transaction.

-- Which events were recorded, by their source's own ids: a repeated report writes nothing.
CREATE TABLE call_events (
    source   TEXT    NOT NULL,
    event_id TEXT    NOT NULL,
    seq      BIGINT  NOT NULL,          -- the log entry that recorded it
    PRIMARY KEY (source, event_id)
);

-- A call: every event of it (`state`, the fold's input) and the columns screens search by.
CREATE TABLE calls (
    source      TEXT    NOT NULL,
    call        TEXT    NOT NULL,
    status      TEXT    NOT NULL,       -- ivr, waiting, talking, over
    started_at  BIGINT  NOT NULL,       -- when it queued, else its first event (ms)
    queue       TEXT,
    agent       TEXT,                   -- the last agent who answered it
    caller      BIGINT,                 -- the sealed number's contact id
    state       TEXT    NOT NULL,
    PRIMARY KEY (source, call)
);
CREATE INDEX calls_by_status ON calls (status, started_at);
CREATE INDEX calls_by_started ON calls (started_at);
CREATE INDEX calls_by_agent ON calls (agent, started_at) WHERE agent IS NOT NULL;
CREATE INDEX calls_by_caller ON calls (caller, started_at) WHERE caller IS NOT NULL;

-- The call measures' rollups per 15-minute interval (ms since the epoch): per queue ('' for
-- calls that never asked for a person) and per agent. Columns are domain::calls::QueueCounts and
-- AgentCounts, in order.
CREATE TABLE call_queue_intervals (
    interval_start    BIGINT  NOT NULL,
    queue             TEXT    NOT NULL,
    arrived           BIGINT  NOT NULL DEFAULT 0,
    requested         BIGINT  NOT NULL DEFAULT 0,
    answered          BIGINT  NOT NULL DEFAULT 0,
    answered_within   BIGINT  NOT NULL DEFAULT 0,
    abandoned         BIGINT  NOT NULL DEFAULT 0,
    short_abandoned   BIGINT  NOT NULL DEFAULT 0,
    wait_answered_ms  BIGINT  NOT NULL DEFAULT 0,
    wait_abandoned_ms BIGINT  NOT NULL DEFAULT 0,
    transferred       BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (interval_start, queue)
);
CREATE TABLE call_agent_intervals (
    interval_start BIGINT  NOT NULL,
    agent      TEXT    NOT NULL,
    offered    BIGINT  NOT NULL DEFAULT 0,
    missed     BIGINT  NOT NULL DEFAULT 0,
    answered   BIGINT  NOT NULL DEFAULT 0,
    handled    BIGINT  NOT NULL DEFAULT 0,
    talk_ms    BIGINT  NOT NULL DEFAULT 0,
    hold_ms    BIGINT  NOT NULL DEFAULT 0,
    wrap_ups   BIGINT  NOT NULL DEFAULT 0,
    wrap_up_ms BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (interval_start, agent)
);
