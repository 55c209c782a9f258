-- Terms versions, PPID services, PPIDs and their codes (SQLite). Keep in step with ../postgres.

-- Terms versions (Art 3, 12): the one in force at a time is the latest effective_at not after
-- it; one version per moment, so that is never ambiguous.
CREATE TABLE terms_versions (
    version       TEXT    PRIMARY KEY,
    effective_at  INTEGER NOT NULL UNIQUE,
    text_url      TEXT,
    summary       TEXT,
    published_at  INTEGER NOT NULL,
    urgent_reason TEXT,
    CHECK (text_url IS NOT NULL OR summary IS NOT NULL)
);
-- The version in force on a fresh install, from the epoch on.
INSERT INTO terms_versions (version, effective_at, summary, published_at)
VALUES ('2026-11-01', 0, 'The MyKey Platform Terms of Use as first published.', 0);

-- A relying party's services registered to use PPIDs (Art 2.14, 19).
CREATE TABLE ppid_services (
    id               INTEGER PRIMARY KEY,
    relying_party_id INTEGER NOT NULL REFERENCES relying_parties (id),
    name             TEXT    NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX ppid_services_by_relying_party ON ppid_services (relying_party_id);

-- Issued PPIDs (Art 2.12, 20): stored when first derived, so a key change never alters one.
-- One per person and service; a value is unique within its service.
CREATE TABLE ppids (
    ppid_service_id INTEGER NOT NULL REFERENCES ppid_services (id),
    person_id       INTEGER NOT NULL REFERENCES persons (id),
    ppid            BLOB    NOT NULL,
    issued_at       INTEGER NOT NULL,
    customer_id     TEXT,
    PRIMARY KEY (ppid_service_id, person_id),
    UNIQUE (ppid_service_id, ppid)
);
CREATE INDEX ppids_by_person ON ppids (person_id);
CREATE INDEX ppids_by_customer_id ON ppids (ppid_service_id, customer_id) WHERE customer_id IS NOT NULL;

-- One-time codes a relying party redeems for a PPID; only their SHA-256 is kept.
CREATE TABLE ppid_codes (
    code_hash       BLOB    PRIMARY KEY,
    ppid_service_id INTEGER NOT NULL REFERENCES ppid_services (id),
    ppid            BLOB    NOT NULL,
    expires_at      INTEGER NOT NULL
);

-- A PPID consent names its service; one active (not withdrawn) per person and service.
ALTER TABLE consents ADD COLUMN ppid_service_id INTEGER REFERENCES ppid_services (id);
CREATE UNIQUE INDEX one_active_ppid_consent ON consents (person_id, ppid_service_id)
    WHERE ppid_service_id IS NOT NULL AND withdrawn_at IS NULL;
