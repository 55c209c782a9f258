-- Transaction intake at national scale (docs/architecture.md §8.2): a batch no longer marks
-- each transaction it counted. Every transaction takes the next number of an ever-growing
-- sequence (`seq`) and names its round; a batch records the last number it counted
-- (`counted_through`), and the next batch of the provider in the round counts what came
-- after it. Intake and a batch exclude each other on the round, so no transaction commits
-- below a number a batch has passed. The purchase points instructed so far on an application
-- are the sum of its purchase grants, no longer a copy on the application.
--
-- Neither table references others by foreign key any longer: a foreign-key check per row is
-- most of what a million rows cost on PostgreSQL. Their references are each written by one
-- statement from the row it names, read in the same transaction (a transaction's application
-- from its settlement user ID, a grant's from the batch's own query), and no application,
-- round, batch or relying party is ever deleted. Keep in step with ../postgres.

ALTER TABLE point_grant_batches ADD COLUMN counted_through INTEGER NOT NULL DEFAULT 0;

CREATE TABLE point_transactions_new (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_id    INTEGER NOT NULL,
    round_id       INTEGER NOT NULL,
    transaction_id TEXT    NOT NULL,
    application_id INTEGER NOT NULL,
    amount         INTEGER NOT NULL CHECK (amount BETWEEN 1 AND 10000000),
    points         INTEGER NOT NULL CHECK (points >= 0),
    occurred_at    INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    UNIQUE (provider_id, transaction_id)
);
-- Those counted first, in their batches' order, then those no batch has counted.
INSERT INTO point_transactions_new (provider_id, round_id, transaction_id, application_id,
    amount, points, occurred_at, received_at)
SELECT t.provider_id, a.round_id, t.transaction_id, t.application_id, t.amount, t.points,
       t.occurred_at, t.received_at
FROM point_transactions t JOIN point_applications a ON a.id = t.application_id
ORDER BY t.batch_id IS NULL, t.batch_id, t.rowid;
UPDATE point_grant_batches SET counted_through = COALESCE((
    SELECT MAX(n.seq) FROM point_transactions_new n JOIN point_transactions t
    ON t.provider_id = n.provider_id AND t.transaction_id = n.transaction_id
    WHERE t.batch_id = point_grant_batches.id), 0);
DROP TABLE point_transactions;
ALTER TABLE point_transactions_new RENAME TO point_transactions;
CREATE INDEX point_transactions_of_round ON point_transactions (provider_id, round_id, seq);

CREATE TABLE point_grants_new (
    id             INTEGER PRIMARY KEY,
    batch_id       INTEGER NOT NULL,
    application_id INTEGER NOT NULL,
    kind           TEXT    NOT NULL
        CHECK (kind IN ('purchase', 'health-insurance', 'public-fund-account')),
    points         INTEGER NOT NULL CHECK (points > 0),
    state          TEXT    NOT NULL
        CHECK (state IN ('instructed', 'confirmed', 'forfeited', 'cancelled')),
    confirmed_at   INTEGER,
    UNIQUE (batch_id, application_id, kind)
);
INSERT INTO point_grants_new SELECT id, batch_id, application_id, kind, points, state, confirmed_at
FROM point_grants;
DROP TABLE point_grants;
ALTER TABLE point_grants_new RENAME TO point_grants;
CREATE INDEX point_grants_of_application ON point_grants (application_id);
CREATE UNIQUE INDEX point_grants_once_per_trigger ON point_grants (application_id, kind)
    WHERE kind <> 'purchase' AND state IN ('instructed', 'confirmed');

ALTER TABLE point_applications DROP COLUMN purchase_points;
