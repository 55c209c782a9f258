-- Relying parties, link requests, consents and Service IDs (PostgreSQL). Keep in step with ../sqlite.

-- Public authorities and businesses (Art 2), admitted by an operator. The client secret is kept
-- only as SHA-256 (a 256-bit random secret needs no slow hash).
CREATE TABLE relying_parties (
    id          BIGSERIAL PRIMARY KEY,
    client_id   TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('public-authority', 'business')),
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'suspended')),
    secret_hash BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- A relying party's request to link one of its customer IDs (Art 17); answered at most once.
CREATE TABLE link_requests (
    id               BYTEA   PRIMARY KEY,
    relying_party_id BIGINT  NOT NULL REFERENCES relying_parties (id),
    customer_id      TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('open', 'approved', 'refused')),
    expires_at       BIGINT  NOT NULL,
    answered_at      BIGINT,
    CHECK ((state = 'open') = (answered_at IS NULL))
);

-- Every consent a person gave: the items (space-separated names), the terms version, the time.
CREATE TABLE consents (
    id               BIGSERIAL PRIMARY KEY,
    person_id        BIGINT  NOT NULL REFERENCES persons (id),
    function         TEXT    NOT NULL,
    relying_party_id BIGINT  REFERENCES relying_parties (id),
    items            TEXT    NOT NULL,
    terms_version    TEXT    NOT NULL,
    given_at         BIGINT  NOT NULL,
    withdrawn_at     BIGINT
);
CREATE INDEX consents_by_person ON consents (person_id);

-- Service IDs (Art 2.13, 17): (relying party, customer ID) linked to a person; kept when ended.
CREATE TABLE service_ids (
    id               BIGSERIAL PRIMARY KEY,
    relying_party_id BIGINT  NOT NULL REFERENCES relying_parties (id),
    customer_id      TEXT    NOT NULL,
    person_id        BIGINT  NOT NULL REFERENCES persons (id),
    consent_id       BIGINT  NOT NULL REFERENCES consents (id),
    linked_at        BIGINT  NOT NULL,
    ended_at         BIGINT,
    end_reason       TEXT CHECK (end_reason IN ('withdrawn', 'removed', 'my-key-id-revoked')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
-- One active Service ID per relying party and customer ID, enforced by the database.
CREATE UNIQUE INDEX one_active_service_id ON service_ids (relying_party_id, customer_id) WHERE ended_at IS NULL;
CREATE INDEX active_service_ids_by_person ON service_ids (person_id) WHERE ended_at IS NULL;
