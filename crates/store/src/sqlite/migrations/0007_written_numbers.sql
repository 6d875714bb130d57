-- Phone and ID numbers typed into a ticket's free text (a description, a note, a reply): masked
-- in the text the log holds, and sealed here like a contact. One row per command that had any;
-- `seq` is that command's first log entry.
CREATE TABLE written_numbers (
    id         INTEGER PRIMARY KEY,   -- bound into the encryption, like a contact's id
    ticket     INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    key_id     INTEGER NOT NULL,
    nonce      BLOB    NOT NULL,
    ciphertext BLOB    NOT NULL
) STRICT;
CREATE INDEX written_numbers_by_ticket ON written_numbers (ticket, seq);
