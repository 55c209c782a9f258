-- Logging in by Service ID and the Art 17.1 route (issue 21.1). Keep in step with ../sqlite.
-- * `oidc_clients.subject`: whose identifier a client's `sub` is — the person's PPID for the
--   client's PPID service, or the relying party's own customer ID the person's Service ID links
--   (then it names no PPID service).
-- * `authorizations.customer_id`: the `sub` of a login by Service ID once approved;
--   `link_request_id`: the link request a client offers with the login.
-- * `service_id_login_codes`: one-time codes of REST logins by Service ID (SHA-256 only),
--   redeemed by the relying party for the customer ID.
-- * `service_ids.route`: how a link was made — the person confirmed a link request with the
--   card, or gave the relying party the My Key ID and the relying party applied with it.
ALTER TABLE oidc_clients ADD COLUMN subject TEXT NOT NULL DEFAULT 'ppid'
    CHECK (subject IN ('ppid', 'service-id'));
ALTER TABLE oidc_clients ALTER COLUMN ppid_service_id DROP NOT NULL;
ALTER TABLE oidc_clients ADD CONSTRAINT oidc_clients_subject_names_its_service
    CHECK ((subject = 'ppid') = (ppid_service_id IS NOT NULL));

ALTER TABLE authorizations ADD COLUMN customer_id TEXT;
ALTER TABLE authorizations ADD COLUMN link_request_id BYTEA;

CREATE TABLE service_id_login_codes (
    code_hash        BYTEA   PRIMARY KEY,
    relying_party_id BIGINT  NOT NULL REFERENCES relying_parties (id),
    customer_id      TEXT    NOT NULL,
    expires_at       BIGINT  NOT NULL
);
CREATE INDEX service_id_login_codes_by_expiry ON service_id_login_codes (expires_at);

ALTER TABLE service_ids ADD COLUMN route TEXT NOT NULL DEFAULT 'card'
    CHECK (route IN ('card', 'my-key-id'));
