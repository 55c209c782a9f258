-- Challenges are authenticated by the platform (HMAC) instead of stored; only the nonces that
-- were answered are kept, until they expire, so that none is answered twice. Keep in step with
-- ../postgres.
DROP TABLE challenges;

CREATE TABLE used_nonces (
    nonce      BLOB    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX used_nonces_by_expiry ON used_nonces (expires_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX ppid_codes_by_expiry ON ppid_codes (expires_at);
