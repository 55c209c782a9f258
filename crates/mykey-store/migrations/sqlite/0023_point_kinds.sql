-- no-transaction
-- The card-point programme's parties (Terms Art 26): registered payment providers and
-- application-support businesses (kiosks) are relying parties of their own kinds, and events
-- can be about a point application. SQLite cannot change a CHECK constraint in place, so both
-- tables are rebuilt as SQLite's ALTER TABLE documentation prescribes: foreign-key enforcement
-- off (it cannot change inside a transaction, hence no-transaction), the copy, drop and rename
-- in one transaction that checks every foreign key before it commits. Done again after a crash
-- between the commit and sqlx recording it, it rebuilds the new tables once more, harmlessly.
-- Keep in step with ../postgres.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE relying_parties_0023 (
    id                 INTEGER PRIMARY KEY,
    client_id          TEXT    NOT NULL UNIQUE,
    name               TEXT    NOT NULL,
    kind               TEXT    NOT NULL
        CHECK (kind IN ('public-authority', 'business', 'payment-provider', 'kiosk')),
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'suspended')),
    secret_hash        BLOB    NOT NULL,
    created_at         INTEGER NOT NULL,
    jwks               TEXT,
    contact            TEXT,
    privacy_policy_url TEXT,
    terms_url          TEXT
);
INSERT INTO relying_parties_0023
    (id, client_id, name, kind, status, secret_hash, created_at, jwks, contact,
     privacy_policy_url, terms_url)
SELECT id, client_id, name, kind, status, secret_hash, created_at, jwks, contact,
       privacy_policy_url, terms_url
FROM relying_parties;
DROP TABLE relying_parties;
ALTER TABLE relying_parties_0023 RENAME TO relying_parties;

CREATE TABLE events_0023 (
    id               INTEGER PRIMARY KEY,
    relying_party_id INTEGER NOT NULL REFERENCES relying_parties (id),
    jti              TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL,
    subject_kind     TEXT    NOT NULL
        CHECK (subject_kind IN ('customer-id', 'ppid', 'point-application')),
    subject          TEXT    NOT NULL,
    ppid_service_id  INTEGER REFERENCES ppid_services (id),
    detail           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    acknowledged_at  INTEGER,
    refused          TEXT,
    CHECK ((subject_kind = 'ppid') = (ppid_service_id IS NOT NULL))
);
INSERT INTO events_0023
    (id, relying_party_id, jti, kind, subject_kind, subject, ppid_service_id, detail,
     created_at, acknowledged_at, refused)
SELECT id, relying_party_id, jti, kind, subject_kind, subject, ppid_service_id, detail,
       created_at, acknowledged_at, refused
FROM events;
DROP TABLE events;
ALTER TABLE events_0023 RENAME TO events;
CREATE INDEX events_pending ON events (relying_party_id, id) WHERE acknowledged_at IS NULL;

-- Fails the migration (and rolls it back) if any row points nowhere.
CREATE TEMP TABLE fk_0023 (n INTEGER NOT NULL CHECK (n = 0));
INSERT INTO fk_0023 SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE fk_0023;

COMMIT;
PRAGMA foreign_keys = ON;
