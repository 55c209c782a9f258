-- Maintenance windows (Terms Art 9.3; docs/architecture.md §9): announced ahead (or, urgent,
-- at once with a reason), each naming the functions it takes down, with a notice in English
-- and Japanese. `ended_at` is set when an operator ends one early or calls it off; a window is
-- never deleted. Relying parties are told by events about an announcement, not a person.
-- Keep in step with ../sqlite.
CREATE TABLE maintenance_windows (
    id            BIGSERIAL PRIMARY KEY,
    starts_at     BIGINT  NOT NULL,
    ends_at       BIGINT  NOT NULL CHECK (ends_at > starts_at),
    functions     TEXT    NOT NULL,
    notice_en     TEXT    NOT NULL,
    notice_ja     TEXT    NOT NULL,
    announced_at  BIGINT  NOT NULL,
    urgent_reason TEXT,
    ended_at      BIGINT
);
CREATE INDEX maintenance_windows_by_end ON maintenance_windows (ends_at);

ALTER TABLE events DROP CONSTRAINT events_subject_kind_check;
ALTER TABLE events ADD CONSTRAINT events_subject_kind_check
    CHECK (subject_kind IN ('customer-id', 'ppid', 'point-application', 'announcement'));
