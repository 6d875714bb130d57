-- The access trail. Looks at personal data are log entries of kind access.* (no ticket column:
-- one look may show many tickets); this index says which looks at one ticket (a detail, a
-- timeline, a photo, a caller lookup) showed which ticket, so "who looked at this ticket?" is an
-- index read. Both tables are derived from the log's entries.
CREATE TABLE access_index (
    no  BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (no, seq)
);
-- A page of tickets shows many at once, and queues are reread all day: which people saw a ticket
-- in a list on a local day is kept once, with the first such look (the log has every look).
CREATE TABLE list_sightings (
    no    BIGINT NOT NULL,
    day   TEXT NOT NULL,
    actor TEXT NOT NULL,
    seq   BIGINT NOT NULL,
    PRIMARY KEY (no, day, actor)
);
-- The privacy page reads a day of looks; a person's lookup budget, their last hour of lookups.
CREATE INDEX log_unticketed_by_time ON log (at, seq) WHERE ticket IS NULL;
CREATE INDEX log_unticketed_by_actor ON log (actor, at) WHERE ticket IS NULL;
