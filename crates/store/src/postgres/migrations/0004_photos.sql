-- Photos citizens attach, sealed like contacts (one per ticket).
CREATE TABLE photos (
    id           BIGINT PRIMARY KEY,    -- bound into the encryption, like a contact's id
    ticket       BIGINT NOT NULL UNIQUE,
    key_id       BIGINT NOT NULL,
    nonce        BYTEA  NOT NULL,
    ciphertext   BYTEA  NOT NULL,
    content_type TEXT   NOT NULL
);
