-- The fixed points for using the card as a health-insurance card (Art 24) and for registering a
-- public-fund receiving account (Art 25): the holder's claim on their application, awaiting the
-- registration until Mynaportal or the account registry confirms it (docs/architecture.md §8).
-- Granted once, through the application's provider: one live grant per application and kind
-- (not purchase) is the database's rule. Keep in step with ../postgres.
CREATE TABLE point_triggers (
    application_id INTEGER NOT NULL REFERENCES point_applications (id),
    kind           TEXT    NOT NULL CHECK (kind IN ('health-insurance', 'public-fund-account')),
    state          TEXT    NOT NULL CHECK (state IN ('awaiting-registration', 'registered')),
    claimed_at     INTEGER NOT NULL,
    checked_at     INTEGER,
    registered_at  INTEGER,
    CHECK (state <> 'registered' OR registered_at IS NOT NULL),
    PRIMARY KEY (application_id, kind)
);
CREATE INDEX point_triggers_awaiting ON point_triggers (checked_at)
    WHERE state = 'awaiting-registration';
CREATE INDEX point_triggers_registered ON point_triggers (application_id)
    WHERE state = 'registered';
CREATE UNIQUE INDEX point_grants_once_per_trigger ON point_grants (application_id, kind)
    WHERE kind <> 'purchase' AND state IN ('instructed', 'confirmed');
