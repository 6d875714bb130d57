-- KPI rollups: per lead unit × civil day, and per channel × top-level category × civil day, the
-- counts the monthly ranking and the dashboard add up (see store/src/write/rollup.rs). Maintained
-- in the same transaction as the events that change them; `rebuild` recomputes them.
CREATE TABLE kpi_unit_day (
    day                  TEXT    NOT NULL,   -- YYYY-MM-DD in the city's time zone
    unit                 TEXT    NOT NULL,
    dispatched           BIGINT  NOT NULL DEFAULT 0,
    reopened             BIGINT  NOT NULL DEFAULT 0,
    signed               BIGINT  NOT NULL DEFAULT 0,
    signed_on_time       BIGINT  NOT NULL DEFAULT 0,
    replied              BIGINT  NOT NULL DEFAULT 0,
    replied_on_time      BIGINT  NOT NULL DEFAULT 0,
    follow_ups_reached   BIGINT  NOT NULL DEFAULT 0,
    follow_ups_unreached BIGINT  NOT NULL DEFAULT 0,
    contacted            BIGINT  NOT NULL DEFAULT 0,
    solved               BIGINT  NOT NULL DEFAULT 0,
    satisfied            BIGINT  NOT NULL DEFAULT 0,
    claimed_solved       BIGINT  NOT NULL DEFAULT 0,
    return_requests      BIGINT  NOT NULL DEFAULT 0,
    returns_approved     BIGINT  NOT NULL DEFAULT 0,
    extensions_approved  BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, unit)
);
CREATE TABLE kpi_hotline_day (
    day              TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    category         TEXT    NOT NULL,       -- top-level category (一级分类)
    received         BIGINT  NOT NULL DEFAULT 0,
    answered_on_call BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, channel, category)
);
