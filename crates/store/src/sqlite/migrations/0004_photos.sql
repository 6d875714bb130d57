-- Photos citizens attach, sealed like contacts (one per ticket).
CREATE TABLE photos (
    id           INTEGER PRIMARY KEY,   -- bound into the encryption, like a contact's id
    ticket       INTEGER NOT NULL UNIQUE,
    key_id       INTEGER NOT NULL,
    nonce        BLOB    NOT NULL,
    ciphertext   BLOB    NOT NULL,
    content_type TEXT    NOT NULL
) STRICT;
