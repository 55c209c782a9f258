-- The J-LIS simulator's own store.

-- One row per CA generation. A rollover adds a generation under the same name.
CREATE TABLE ca_generations (
    id                  INTEGER PRIMARY KEY,
    purpose             TEXT    NOT NULL CHECK (purpose IN ('user-identification', 'signature')),
    generation          INTEGER NOT NULL,
    key_pkcs8           BLOB    NOT NULL,
    cert_der            BLOB    NOT NULL,
    responder_key_pkcs8 BLOB    NOT NULL,
    responder_cert_der  BLOB    NOT NULL,
    not_before          INTEGER NOT NULL,
    not_after           INTEGER NOT NULL,
    -- Last CRL number used; complete and delta CRLs share the sequence (RFC 5280 §5.2.3).
    crl_number          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (purpose, generation)
);

-- A card holder as J-LIS knows them: the four facts as currently registered.
CREATE TABLE persons (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    birth_date  TEXT    NOT NULL,
    sex         INTEGER NOT NULL CHECK (sex IN (1, 2, 9)),
    created_at  INTEGER NOT NULL
);

-- Every certificate ever issued. Serial numbers never repeat (the primary key), across CAs.
CREATE TABLE certificates (
    serial            INTEGER PRIMARY KEY CHECK (serial > 0),
    purpose           TEXT    NOT NULL CHECK (purpose IN ('user-identification', 'signature')),
    ca_id             INTEGER NOT NULL REFERENCES ca_generations (id),
    person_id         INTEGER NOT NULL REFERENCES persons (id),
    der               BLOB    NOT NULL,
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    issued_at         INTEGER NOT NULL,
    -- Issue order (serials are random, so they cannot tell it).
    issued_seq        INTEGER NOT NULL UNIQUE,
    revoked_at        INTEGER,
    reason            INTEGER,
    -- For a user-identification certificate issued on renewal: the one it replaced.
    previous_serial   INTEGER REFERENCES certificates (serial),
    -- For a user-identification certificate: the signature certificate issued with it.
    paired_signature  INTEGER REFERENCES certificates (serial),
    CHECK ((revoked_at IS NULL) = (reason IS NULL))
);
CREATE INDEX certificates_by_person ON certificates (person_id, purpose, issued_seq);
CREATE INDEX certificates_revoked ON certificates (ca_id, revoked_at) WHERE revoked_at IS NOT NULL;
CREATE UNIQUE INDEX certificates_previous ON certificates (previous_serial) WHERE previous_serial IS NOT NULL;

-- Published CRLs, newest served.
CREATE TABLE crls (
    ca_id        INTEGER NOT NULL REFERENCES ca_generations (id),
    number       INTEGER NOT NULL,
    base_number  INTEGER,
    this_update  INTEGER NOT NULL,
    next_update  INTEGER NOT NULL,
    der          BLOB    NOT NULL,
    PRIMARY KEY (ca_id, number)
);
