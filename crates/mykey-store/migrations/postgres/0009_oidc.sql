-- The OpenID Connect provider (PostgreSQL). Keep in step with ../sqlite.

-- A relying party's client registration, made by an operator: its PPID service (whose PPIDs
-- are the subs), redirect URIs (space-separated, compared exactly), the fact scopes it may ask
-- for, and its ID tokens' algorithm.
CREATE TABLE oidc_clients (
    relying_party_id          BIGINT  PRIMARY KEY REFERENCES relying_parties (id),
    ppid_service_id           BIGINT  NOT NULL REFERENCES ppid_services (id),
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    scopes                    TEXT    NOT NULL,
    id_token_alg              TEXT    NOT NULL CHECK (id_token_alg IN ('ES256', 'RS256')),
    updated_at                BIGINT  NOT NULL
);

-- Authorization requests: opened by a browser, answered by the phone, continued by the same
-- browser with a one-time code, redeemed at the token endpoint. Handles, browser secrets and
-- codes are kept as SHA-256 only. relying_party_id NULL: the person's own portal.
CREATE TABLE authorizations (
    id               BIGSERIAL PRIMARY KEY,
    handle_hash      BYTEA   NOT NULL UNIQUE,
    short_code       TEXT    NOT NULL,
    browser_hash     BYTEA   NOT NULL,
    relying_party_id BIGINT  REFERENCES relying_parties (id),
    redirect_uri     TEXT,
    scope            TEXT    NOT NULL,
    state            TEXT,
    nonce            TEXT,
    code_challenge   TEXT,
    sid              TEXT    NOT NULL UNIQUE,
    created_at       BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'declined', 'continued', 'redeemed')),
    person_id        BIGINT  REFERENCES persons (id),
    ppid             BYTEA,
    facts            TEXT,
    approved_at      BIGINT,
    code_hash        BYTEA   UNIQUE,
    code_expires_at  BIGINT,
    -- Until when the row is needed: the request's, then the code's, then the tokens' expiry.
    keep_until       BIGINT  NOT NULL,
    CHECK (status = 'pending' OR status = 'declined' OR person_id IS NOT NULL)
);
-- A short code names one pending request.
CREATE UNIQUE INDEX pending_short_codes ON authorizations (short_code) WHERE status = 'pending';
CREATE INDEX authorizations_by_keep_until ON authorizations (keep_until);

-- Access tokens for userinfo (SHA-256 only), revoked with their login.
CREATE TABLE access_tokens (
    token_hash       BYTEA   PRIMARY KEY,
    authorization_id BIGINT  NOT NULL REFERENCES authorizations (id),
    expires_at       BIGINT  NOT NULL,
    revoked_at       BIGINT 
);
CREATE INDEX access_tokens_by_authorization ON access_tokens (authorization_id);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);
