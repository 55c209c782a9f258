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
-- round, batch or relying party is ever deleted. A grant is keyed by its batch, application
-- and kind; `id` only orders grants as they were made. Keep in step with ../sqlite.

ALTER TABLE point_grant_batches ADD COLUMN counted_through BIGINT NOT NULL DEFAULT 0;

ALTER TABLE point_transactions ADD COLUMN round_id BIGINT;
ALTER TABLE point_transactions ADD COLUMN seq BIGINT;
CREATE SEQUENCE point_transactions_seq OWNED BY point_transactions.seq;
-- Those counted first, in their batches' order, then those no batch has counted.
UPDATE point_transactions t SET round_id = a.round_id, seq = o.n
FROM point_applications a, (SELECT provider_id, transaction_id, row_number() OVER (
        ORDER BY batch_id IS NULL, batch_id, received_at, transaction_id) AS n
    FROM point_transactions) o
WHERE a.id = t.application_id AND o.provider_id = t.provider_id
  AND o.transaction_id = t.transaction_id;
SELECT setval('point_transactions_seq', COALESCE((SELECT MAX(seq) FROM point_transactions), 0) + 1, false);
ALTER TABLE point_transactions ALTER COLUMN seq SET DEFAULT nextval('point_transactions_seq');
ALTER TABLE point_transactions ALTER COLUMN seq SET NOT NULL;
ALTER TABLE point_transactions ALTER COLUMN round_id SET NOT NULL;
UPDATE point_grant_batches b SET counted_through = COALESCE((
    SELECT MAX(t.seq) FROM point_transactions t WHERE t.batch_id = b.id), 0);
DROP INDEX point_transactions_uncounted;
DROP INDEX point_transactions_of_application;
ALTER TABLE point_transactions DROP COLUMN batch_id;
CREATE INDEX point_transactions_of_round ON point_transactions (provider_id, round_id, seq);

ALTER TABLE point_transactions DROP CONSTRAINT point_transactions_provider_id_fkey;
ALTER TABLE point_transactions DROP CONSTRAINT point_transactions_application_id_fkey;

ALTER TABLE point_grants DROP CONSTRAINT point_grants_batch_id_fkey;
ALTER TABLE point_grants DROP CONSTRAINT point_grants_application_id_fkey;
ALTER TABLE point_grants DROP CONSTRAINT point_grants_pkey;
ALTER TABLE point_grants DROP CONSTRAINT point_grants_batch_id_application_id_kind_key;
ALTER TABLE point_grants ADD PRIMARY KEY (batch_id, application_id, kind);

ALTER TABLE point_applications DROP COLUMN purchase_points;
