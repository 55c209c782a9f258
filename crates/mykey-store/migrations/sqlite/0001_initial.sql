-- The platform's store (SQLite). Keep in step with ../postgres.

CREATE TABLE persons (
    id         INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL
);

-- Every issuance number a person has held; a renewal adds one (Art 16.1.2-3).
CREATE TABLE issuance_numbers (
    number     BLOB    PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons (id),
    linked_at  INTEGER NOT NULL
);
CREATE INDEX issuance_numbers_by_person ON issuance_numbers (person_id);

CREATE TABLE challenges (
    nonce         BLOB    PRIMARY KEY,
    purpose       TEXT    NOT NULL,
    relying_party INTEGER,
    expires_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons (id),
    expires_at INTEGER NOT NULL
);

-- Every My Key ID ever issued; a value is never reused.
CREATE TABLE my_key_ids (
    id         TEXT    PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons (id),
    created_at INTEGER NOT NULL,
    ended_at   INTEGER,
    end_reason TEXT CHECK (end_reason IN ('changed', 'revoked')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
-- At most one active My Key ID per person (Art 15.1), enforced by the database.
CREATE UNIQUE INDEX one_active_my_key_id ON my_key_ids (person_id) WHERE ended_at IS NULL;

-- The person's own hash-chained log.
CREATE TABLE log_entries (
    person_id INTEGER NOT NULL REFERENCES persons (id),
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    hash      BLOB    NOT NULL,
    PRIMARY KEY (person_id, seq)
);
