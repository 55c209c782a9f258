-- Card points granted (Terms Chapter 5, docs/architecture.md §8): the charges and purchases a
-- payment provider reports for its validated applications (its own transaction ID once per
-- provider: a repeat is the same transaction), the batches in which the platform works out the
-- points due under the round's rate and what remains of its cap, the grants each batch
-- instructs, and the provider's confirmation. Keep in step with ../postgres.

-- Purchase points instructed so far on the application: never more than the round's cap.
ALTER TABLE point_applications ADD COLUMN purchase_points INTEGER NOT NULL DEFAULT 0;

CREATE TABLE point_grant_batches (
    id           INTEGER PRIMARY KEY,
    provider_id  INTEGER NOT NULL REFERENCES relying_parties (id),
    round_id     INTEGER NOT NULL REFERENCES point_rounds (id),
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER
);

-- `points` is the transaction's own share (its amount times the round's rate, rounded down);
-- `batch_id` the batch that counted it, null until one did.
CREATE TABLE point_transactions (
    provider_id    INTEGER NOT NULL REFERENCES relying_parties (id),
    transaction_id TEXT    NOT NULL,
    application_id INTEGER NOT NULL REFERENCES point_applications (id),
    amount         INTEGER NOT NULL CHECK (amount BETWEEN 1 AND 10000000),
    points         INTEGER NOT NULL CHECK (points >= 0),
    occurred_at    INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    batch_id       INTEGER REFERENCES point_grant_batches (id),
    PRIMARY KEY (provider_id, transaction_id)
);
CREATE INDEX point_transactions_uncounted ON point_transactions (provider_id, application_id)
    WHERE batch_id IS NULL;
CREATE INDEX point_transactions_of_application ON point_transactions (application_id);

-- What the platform tells the provider to grant, once per application and batch; confirmed by
-- the provider, or ended unconfirmed by a forfeiture (Art 27) or the holder's withdrawal.
CREATE TABLE point_grants (
    id             INTEGER PRIMARY KEY,
    batch_id       INTEGER NOT NULL REFERENCES point_grant_batches (id),
    application_id INTEGER NOT NULL REFERENCES point_applications (id),
    kind           TEXT    NOT NULL
        CHECK (kind IN ('purchase', 'health-insurance', 'public-fund-account')),
    points         INTEGER NOT NULL CHECK (points > 0),
    state          TEXT    NOT NULL
        CHECK (state IN ('instructed', 'confirmed', 'forfeited', 'cancelled')),
    confirmed_at   INTEGER,
    UNIQUE (batch_id, application_id, kind)
);
CREATE INDEX point_grants_of_application ON point_grants (application_id);
