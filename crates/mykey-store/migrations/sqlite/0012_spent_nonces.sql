-- Spent nonces are appended in the order they are spent, on a rowid that only grows, and looked
-- up in memory (see ../../src/spent.rs): keyed by expiry and then hash, one second's spends were
-- scattered over a hundred pages of used_nonces, and a batch of exchanges wrote most of them.
-- The purge finds the expired rows on the expiry index, whose keys come in about their order.
-- SQLite only: PostgreSQL keeps used_nonces and its unique key.
CREATE TABLE spent_nonces (
    id         INTEGER PRIMARY KEY,
    nonce      BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
);
INSERT INTO spent_nonces (nonce, expires_at)
    SELECT nonce, expires_at FROM used_nonces ORDER BY nonce;
DROP TABLE used_nonces;
CREATE INDEX spent_nonces_by_expiry ON spent_nonces (expires_at);
