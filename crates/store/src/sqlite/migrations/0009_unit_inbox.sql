-- A unit's inbox (its open tickets, soonest deadline first) and its counts by status, read from
-- the unit links alone: each link carries its ticket's status and running deadline, kept with
-- the ticket's row, so the inbox is an index range however many tickets the unit ever had.
ALTER TABLE ticket_units ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE ticket_units ADD COLUMN due_at INTEGER;
UPDATE ticket_units SET (status, due_at) =
    (SELECT t.status, t.due_at FROM tickets t WHERE t.no = ticket_units.no);
CREATE INDEX ticket_units_by_status ON ticket_units (unit, status, due_at);
