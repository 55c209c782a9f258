-- The OpenID Connect provider (SQLite). Keep in step with ../postgres.

-- A relying party's client registration, made by an operator: its PPID service (whose PPIDs
-- are the subs), redirect URIs (space-separated, compared exactly), the fact scopes it may ask
-- for, and its ID tokens' algorithm.
CREATE TABLE oidc_clients (
    relying_party_id          INTEGER PRIMARY KEY REFERENCES relying_parties (id),
    ppid_service_id           INTEGER NOT NULL REFERENCES ppid_services (id),
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    scopes                    TEXT    NOT NULL,
    id_token_alg              TEXT    NOT NULL CHECK (id_token_alg IN ('ES256', 'RS256')),
    updated_at                INTEGER NOT NULL
);

-- Authorization requests: opened by a browser, answered by the phone, continued by the same
-- browser with a one-time code, redeemed at the token endpoint. Handles, browser secrets and
-- codes are kept as SHA-256 only. relying_party_id NULL: the person's own portal.
CREATE TABLE authorizations (
    id               INTEGER PRIMARY KEY,
    handle_hash      BLOB    NOT NULL UNIQUE,
    short_code       TEXT    NOT NULL,
    browser_hash     BLOB    NOT NULL,
    relying_party_id INTEGER REFERENCES relying_parties (id),
    redirect_uri     TEXT,
    scope            TEXT    NOT NULL,
    state            TEXT,
    nonce            TEXT,
    code_challenge   TEXT,
    sid              TEXT    NOT NULL UNIQUE,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'declined', 'continued', 'redeemed')),
    person_id        INTEGER REFERENCES persons (id),
    ppid             BLOB,
    facts            TEXT,
    approved_at      INTEGER,
    code_hash        BLOB    UNIQUE,
    code_expires_at  INTEGER,
    -- Until when the row is needed: the request's, then the code's, then the tokens' expiry.
    keep_until       INTEGER NOT NULL,
    CHECK (status = 'pending' OR status = 'declined' OR person_id IS NOT NULL)
);
-- A short code names one pending request.
CREATE UNIQUE INDEX pending_short_codes ON authorizations (short_code) WHERE status = 'pending';
CREATE INDEX authorizations_by_keep_until ON authorizations (keep_until);

-- Access tokens for userinfo (SHA-256 only), revoked with their login.
CREATE TABLE access_tokens (
    token_hash       BLOB    PRIMARY KEY,
    authorization_id INTEGER NOT NULL REFERENCES authorizations (id),
    expires_at       INTEGER NOT NULL,
    revoked_at       INTEGER
);
CREATE INDEX access_tokens_by_authorization ON access_tokens (authorization_id);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);
