-- The platform's store (PostgreSQL). Keep in step with ../sqlite.

CREATE TABLE persons (
    id         BIGSERIAL PRIMARY KEY,
    created_at BIGINT NOT NULL
);

-- Every issuance number a person has held; a renewal adds one (Art 16.1.2-3).
CREATE TABLE issuance_numbers (
    number     BYTEA    PRIMARY KEY,
    person_id  BIGINT NOT NULL REFERENCES persons (id),
    linked_at  BIGINT NOT NULL
);
CREATE INDEX issuance_numbers_by_person ON issuance_numbers (person_id);

CREATE TABLE challenges (
    nonce         BYTEA    PRIMARY KEY,
    purpose       TEXT    NOT NULL,
    relying_party BIGINT,
    expires_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash BYTEA    PRIMARY KEY,
    person_id  BIGINT NOT NULL REFERENCES persons (id),
    expires_at BIGINT NOT NULL
);

-- Every My Key ID ever issued; a value is never reused.
CREATE TABLE my_key_ids (
    id         TEXT    PRIMARY KEY,
    person_id  BIGINT NOT NULL REFERENCES persons (id),
    created_at BIGINT NOT NULL,
    ended_at   BIGINT,
    end_reason TEXT CHECK (end_reason IN ('changed', 'revoked')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
-- At most one active My Key ID per person (Art 15.1), enforced by the database.
CREATE UNIQUE INDEX one_active_my_key_id ON my_key_ids (person_id) WHERE ended_at IS NULL;

-- The person's own hash-chained log.
CREATE TABLE log_entries (
    person_id BIGINT NOT NULL REFERENCES persons (id),
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    kind      TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    hash      BYTEA    NOT NULL,
    PRIMARY KEY (person_id, seq)
);
