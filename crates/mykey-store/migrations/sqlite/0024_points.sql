-- The card-point programme (Terms Chapter 5, docs/architecture.md §8). Keep in step with
-- ../postgres.

-- A payment provider's cashless payment service (Art 22.1.4-7): registered by the provider,
-- eligible once the point secretariat approves it. The shape of the Payment Service IDs people
-- know it by (Art 22.1.8): an alphabet, a length range, a fixed prefix and a check digit.
CREATE TABLE payment_services (
    id               INTEGER PRIMARY KEY,
    relying_party_id INTEGER NOT NULL REFERENCES relying_parties (id),
    name             TEXT    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('e-money', 'qr-code', 'credit-card')),
    id_alphabet      TEXT    NOT NULL CHECK (id_alphabet IN ('digits', 'alphanumeric')),
    id_min_length    INTEGER NOT NULL CHECK (id_min_length BETWEEN 1 AND 64),
    id_max_length    INTEGER NOT NULL CHECK (id_max_length BETWEEN id_min_length AND 64),
    id_prefix        TEXT    NOT NULL,
    id_check         TEXT    NOT NULL CHECK (id_check IN ('none', 'luhn')),
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'eligible', 'withdrawn')),
    created_at       INTEGER NOT NULL,
    UNIQUE (relying_party_id, name)
);

-- A programme round the secretariat defines (Art 22.1.3): the purchase points (a percentage of
-- charges or purchases, up to a cap per person) and the fixed points for using the card as a
-- health-insurance card (Art 24) and for registering a public-fund receiving account (Art 25),
-- in yen. Draft, then open for applications, then closed.
CREATE TABLE point_rounds (
    id                         INTEGER PRIMARY KEY,
    name                       TEXT    NOT NULL UNIQUE,
    purchase_rate              INTEGER NOT NULL CHECK (purchase_rate BETWEEN 1 AND 100),
    purchase_cap               INTEGER NOT NULL CHECK (purchase_cap BETWEEN 1 AND 1000000),
    health_insurance_points    INTEGER NOT NULL CHECK (health_insurance_points BETWEEN 0 AND 1000000),
    public_fund_account_points INTEGER NOT NULL CHECK (public_fund_account_points BETWEEN 0 AND 1000000),
    state                      TEXT    NOT NULL CHECK (state IN ('draft', 'open', 'closed')),
    created_at                 INTEGER NOT NULL,
    opened_at                  INTEGER,
    closed_at                  INTEGER
);

-- A person's application in a round through one eligible service (Art 22.1.6, 23). Its ID is
-- random (63 bits), so that a provider learns nothing of other providers' volume from it. One
-- per person per round — keyed on the person, whom renewals and a re-created My Key ID keep —
-- is this table's rule (a rejected one does not count: the person may correct the Payment
-- Service ID), and so is one live application per Payment Service ID, and one application per
-- settlement user ID at a provider in a round.
CREATE TABLE point_applications (
    id                      INTEGER PRIMARY KEY,
    round_id                INTEGER NOT NULL REFERENCES point_rounds (id),
    person_id               INTEGER NOT NULL REFERENCES persons (id),
    payment_service_id      INTEGER NOT NULL REFERENCES payment_services (id),
    provider_id             INTEGER NOT NULL REFERENCES relying_parties (id),
    payment_service_user_id TEXT    NOT NULL,
    kiosk_id                INTEGER REFERENCES relying_parties (id),
    state                   TEXT    NOT NULL
        CHECK (state IN ('submitted', 'validated', 'rejected', 'withdrawn', 'forfeited')),
    settlement_user_id      TEXT,
    reason                  TEXT,
    submitted_at            INTEGER NOT NULL,
    decided_at              INTEGER,
    ended_at                INTEGER,
    CHECK (state <> 'validated' OR settlement_user_id IS NOT NULL),
    CHECK (state <> 'rejected' OR reason IS NOT NULL)
);
CREATE UNIQUE INDEX point_applications_one_per_person
    ON point_applications (round_id, person_id) WHERE state <> 'rejected';
CREATE UNIQUE INDEX point_applications_one_per_account
    ON point_applications (round_id, payment_service_id, payment_service_user_id)
    WHERE state IN ('submitted', 'validated');
CREATE UNIQUE INDEX point_applications_settlement_user
    ON point_applications (round_id, provider_id, settlement_user_id)
    WHERE settlement_user_id IS NOT NULL;
CREATE INDEX point_applications_queue ON point_applications (provider_id, state, id);
CREATE INDEX point_applications_of_person ON point_applications (person_id);
CREATE INDEX point_applications_of_kiosk ON point_applications (kiosk_id, id)
    WHERE kiosk_id IS NOT NULL;

-- A person's right to apply in a round, forfeited (Art 27): by revoking the My Key ID, for a
-- breach of the Terms, or at the end of the system.
CREATE TABLE point_forfeitures (
    person_id INTEGER NOT NULL REFERENCES persons (id),
    round_id  INTEGER NOT NULL REFERENCES point_rounds (id),
    reason    TEXT    NOT NULL
        CHECK (reason IN ('my-key-id-revoked', 'terms-violation', 'system-terminated')),
    at        INTEGER NOT NULL,
    PRIMARY KEY (person_id, round_id)
);
