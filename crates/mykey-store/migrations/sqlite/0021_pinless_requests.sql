-- The PIN-less route of Terms Art 20.2 (issue 21.4): a relying party's open request, with the
-- date of birth it holds, under the SHA-256 of its handle; and the four facts a one-time code
-- carries to the relying party. Keep in step with ../postgres.
CREATE TABLE pinless_requests (
    handle_hash     BLOB   PRIMARY KEY,
    ppid_service_id INTEGER NOT NULL REFERENCES ppid_services (id),
    birth_date      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX pinless_requests_by_service ON pinless_requests (ppid_service_id, expires_at);
CREATE INDEX pinless_requests_by_expiry ON pinless_requests (expires_at);
ALTER TABLE ppid_codes ADD COLUMN facts TEXT;
