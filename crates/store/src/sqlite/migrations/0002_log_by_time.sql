-- Ticket events by time: the Open311 updates feed reads a window of them.
CREATE INDEX log_by_time ON log (at, seq) WHERE ticket IS NOT NULL;
