-- private_key_jwt: a relying party's registered public keys (a JWK Set, RFC 7517), and the
-- access tokens the token endpoint gives clients for /v1/rp (only their SHA-256 is kept). Keep
-- in step with ../sqlite.
ALTER TABLE relying_parties ADD COLUMN jwks TEXT;

CREATE TABLE client_tokens (
    token_hash       BYTEA   PRIMARY KEY,
    relying_party_id BIGINT  NOT NULL REFERENCES relying_parties (id),
    expires_at       BIGINT  NOT NULL
);
CREATE INDEX client_tokens_by_expiry ON client_tokens (expires_at);
