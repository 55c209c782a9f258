-- The outbox of events for relying parties (Security Event Tokens, signed when delivered): one
-- row per relying party and change, written in the change's own transaction, in order by id.
-- Keep in step with ../postgres.
CREATE TABLE events (
    id               INTEGER PRIMARY KEY,
    relying_party_id INTEGER NOT NULL REFERENCES relying_parties (id),
    jti              TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL,
    subject_kind     TEXT    NOT NULL CHECK (subject_kind IN ('customer-id', 'ppid')),
    subject          TEXT    NOT NULL,
    ppid_service_id  INTEGER REFERENCES ppid_services (id),
    detail           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    acknowledged_at  INTEGER,
    CHECK ((subject_kind = 'ppid') = (ppid_service_id IS NOT NULL))
);
CREATE INDEX events_pending ON events (relying_party_id, id) WHERE acknowledged_at IS NULL;
