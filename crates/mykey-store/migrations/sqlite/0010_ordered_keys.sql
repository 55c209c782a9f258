-- Spent nonces and access tokens keyed by keys that begin with their expiry (see
-- mykey_platform::challenge and oidc::tokens::access_token_key), in tables clustered on that key
-- (WITHOUT ROWID): a new row is appended to one b-tree instead of going to the end of the table
-- and to a random page of a separate key index. Keep in step with ../postgres (no change there:
-- its tables are heaps with the same keys).
CREATE TABLE used_nonces_ordered (
    nonce      BLOB    PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO used_nonces_ordered (nonce, expires_at) SELECT nonce, expires_at FROM used_nonces;
DROP TABLE used_nonces;
ALTER TABLE used_nonces_ordered RENAME TO used_nonces;
CREATE INDEX used_nonces_by_expiry ON used_nonces (expires_at);

CREATE TABLE access_tokens_ordered (
    token_hash       BLOB    PRIMARY KEY,
    authorization_id INTEGER NOT NULL REFERENCES authorizations (id),
    expires_at       INTEGER NOT NULL,
    revoked_at       INTEGER
) WITHOUT ROWID;
INSERT INTO access_tokens_ordered (token_hash, authorization_id, expires_at, revoked_at)
    SELECT token_hash, authorization_id, expires_at, revoked_at FROM access_tokens;
DROP TABLE access_tokens;
ALTER TABLE access_tokens_ordered RENAME TO access_tokens;
CREATE INDEX access_tokens_by_authorization ON access_tokens (authorization_id);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);
