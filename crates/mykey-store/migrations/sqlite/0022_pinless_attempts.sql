-- How many answers to a PIN-less request reached J-LIS's ticket-item service: a handle is
-- spent after five, so that one handle cannot make the platform query J-LIS without end.
-- Keep in step with ../postgres.
ALTER TABLE pinless_requests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
