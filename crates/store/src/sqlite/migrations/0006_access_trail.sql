-- The access trail. Looks at personal data are log entries of kind access.* (no ticket column:
-- one look may show many tickets); this index says which entries showed which tickets, so "who
-- looked at this ticket?" is one index read. It is derived from the log's entries.
CREATE TABLE access_index (
    no  INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (no, seq)
) STRICT, WITHOUT ROWID;
-- The privacy page reads a day of looks; a person's lookup budget, their last hour of lookups.
CREATE INDEX log_unticketed_by_time ON log (at, seq) WHERE ticket IS NULL;
CREATE INDEX log_unticketed_by_actor ON log (actor, at) WHERE ticket IS NULL;
