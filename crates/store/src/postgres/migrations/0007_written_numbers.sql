-- Phone and ID numbers typed into a ticket's free text (a description, a note, a reply): masked
-- in the text the log holds, and sealed here like a contact. One row per command that had any;
-- `seq` is that command's first log entry.
CREATE TABLE written_numbers (
    id         BIGINT PRIMARY KEY,    -- bound into the encryption, like a contact's id
    ticket     BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    key_id     BIGINT NOT NULL,
    nonce      BYTEA  NOT NULL,
    ciphertext BYTEA  NOT NULL
);
CREATE INDEX written_numbers_by_ticket ON written_numbers (ticket, seq);
