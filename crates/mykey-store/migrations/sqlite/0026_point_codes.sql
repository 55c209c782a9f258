-- Proof of possession for a Payment Service ID (docs/architecture.md §8): a service may issue
-- its IDs with a security code of a fixed number of digits, which the holder gives with the ID
-- and the provider checks when it validates; the code is kept only until the provider answers.
-- One live application per Payment Service ID let anyone who knew an ID lock its owner out of
-- the round; now only a validated application holds the ID. Keep in step with ../postgres.
ALTER TABLE payment_services ADD COLUMN code_digits INTEGER CHECK (code_digits BETWEEN 3 AND 8);
ALTER TABLE point_applications ADD COLUMN payment_service_code TEXT;
DROP INDEX point_applications_one_per_account;
CREATE UNIQUE INDEX point_applications_one_per_account
    ON point_applications (round_id, payment_service_id, payment_service_user_id)
    WHERE state = 'validated';
