-- Logging in by Service ID and the Art 17.1 route (issue 21.1). Keep in step with ../postgres,
-- which says what each change is for. SQLite cannot drop a NOT NULL, so `oidc_clients` is
-- rebuilt (nothing refers to it).
CREATE TABLE oidc_clients_new (
    relying_party_id          INTEGER PRIMARY KEY REFERENCES relying_parties (id),
    subject                   TEXT    NOT NULL DEFAULT 'ppid' CHECK (subject IN ('ppid', 'service-id')),
    ppid_service_id           INTEGER REFERENCES ppid_services (id),
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    scopes                    TEXT    NOT NULL,
    id_token_alg              TEXT    NOT NULL CHECK (id_token_alg IN ('ES256', 'RS256')),
    updated_at                INTEGER NOT NULL,
    CHECK ((subject = 'ppid') = (ppid_service_id IS NOT NULL))
);
INSERT INTO oidc_clients_new (relying_party_id, subject, ppid_service_id, redirect_uris,
    post_logout_redirect_uris, scopes, id_token_alg, updated_at)
    SELECT relying_party_id, 'ppid', ppid_service_id, redirect_uris, post_logout_redirect_uris,
        scopes, id_token_alg, updated_at FROM oidc_clients;
DROP TABLE oidc_clients;
ALTER TABLE oidc_clients_new RENAME TO oidc_clients;

ALTER TABLE authorizations ADD COLUMN customer_id TEXT;
ALTER TABLE authorizations ADD COLUMN link_request_id BLOB;

CREATE TABLE service_id_login_codes (
    code_hash        BLOB    PRIMARY KEY,
    relying_party_id INTEGER NOT NULL REFERENCES relying_parties (id),
    customer_id      TEXT    NOT NULL,
    expires_at       INTEGER NOT NULL
);
CREATE INDEX service_id_login_codes_by_expiry ON service_id_login_codes (expires_at);

ALTER TABLE service_ids ADD COLUMN route TEXT NOT NULL DEFAULT 'card'
    CHECK (route IN ('card', 'my-key-id'));
