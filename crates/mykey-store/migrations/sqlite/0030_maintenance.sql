-- no-transaction
-- Maintenance windows (Terms Art 9.3; docs/architecture.md §9): announced ahead (or, urgent,
-- at once with a reason), each naming the functions it takes down, with a notice in English
-- and Japanese. `ended_at` is set when an operator ends one early or calls it off; a window is
-- never deleted. Relying parties are told by events about an announcement, not a person, so
-- the events table is rebuilt for the new subject kind as 0023 did (SQLite cannot change a
-- CHECK in place). Keep in step with ../postgres.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE IF NOT EXISTS maintenance_windows (
    id            INTEGER PRIMARY KEY,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL CHECK (ends_at > starts_at),
    functions     TEXT    NOT NULL,
    notice_en     TEXT    NOT NULL,
    notice_ja     TEXT    NOT NULL,
    announced_at  INTEGER NOT NULL,
    urgent_reason TEXT,
    ended_at      INTEGER
);
CREATE INDEX IF NOT EXISTS maintenance_windows_by_end ON maintenance_windows (ends_at);

DROP TABLE IF EXISTS events_0030;
CREATE TABLE events_0030 (
    id               INTEGER PRIMARY KEY,
    relying_party_id INTEGER NOT NULL REFERENCES relying_parties (id),
    jti              TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL,
    subject_kind     TEXT    NOT NULL
        CHECK (subject_kind IN ('customer-id', 'ppid', 'point-application', 'announcement')),
    subject          TEXT    NOT NULL,
    ppid_service_id  INTEGER REFERENCES ppid_services (id),
    detail           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    acknowledged_at  INTEGER,
    refused          TEXT,
    CHECK ((subject_kind = 'ppid') = (ppid_service_id IS NOT NULL))
);
INSERT INTO events_0030
    (id, relying_party_id, jti, kind, subject_kind, subject, ppid_service_id, detail,
     created_at, acknowledged_at, refused)
SELECT id, relying_party_id, jti, kind, subject_kind, subject, ppid_service_id, detail,
       created_at, acknowledged_at, refused
FROM events;
DROP TABLE events;
ALTER TABLE events_0030 RENAME TO events;
CREATE INDEX events_pending ON events (relying_party_id, id) WHERE acknowledged_at IS NULL;

-- Fails the migration (and rolls it back) if any row points nowhere.
CREATE TEMP TABLE fk_0030 (n INTEGER NOT NULL CHECK (n = 0));
INSERT INTO fk_0030 SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE fk_0030;

COMMIT;
PRAGMA foreign_keys = ON;
