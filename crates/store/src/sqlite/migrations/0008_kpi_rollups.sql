-- KPI rollups: per lead unit × civil day, and per channel × top-level category × civil day, the
-- counts the monthly ranking and the dashboard add up (see store/src/write/rollup.rs). Maintained
-- in the same transaction as the events that change them; `rebuild` recomputes them.
CREATE TABLE kpi_unit_day (
    day                  TEXT    NOT NULL,   -- YYYY-MM-DD in the city's time zone
    unit                 TEXT    NOT NULL,
    dispatched           INTEGER NOT NULL DEFAULT 0,
    reopened             INTEGER NOT NULL DEFAULT 0,
    signed               INTEGER NOT NULL DEFAULT 0,
    signed_on_time       INTEGER NOT NULL DEFAULT 0,
    replied              INTEGER NOT NULL DEFAULT 0,
    replied_on_time      INTEGER NOT NULL DEFAULT 0,
    follow_ups_reached   INTEGER NOT NULL DEFAULT 0,
    follow_ups_unreached INTEGER NOT NULL DEFAULT 0,
    contacted            INTEGER NOT NULL DEFAULT 0,
    solved               INTEGER NOT NULL DEFAULT 0,
    satisfied            INTEGER NOT NULL DEFAULT 0,
    claimed_solved       INTEGER NOT NULL DEFAULT 0,
    return_requests      INTEGER NOT NULL DEFAULT 0,
    returns_approved     INTEGER NOT NULL DEFAULT 0,
    extensions_approved  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, unit)
) STRICT, WITHOUT ROWID;
CREATE TABLE kpi_hotline_day (
    day              TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    category         TEXT    NOT NULL,       -- top-level category (一级分类)
    received         INTEGER NOT NULL DEFAULT 0,
    answered_on_call INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, channel, category)
) STRICT, WITHOUT ROWID;
