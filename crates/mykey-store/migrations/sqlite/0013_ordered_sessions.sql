-- Sessions are keyed by their expiry first (mykey_platform's ordered_token.rs): clustered on
-- that key, a new session appends to the table instead of writing a random page of an index on
-- a hash (a page per login), and the purge deletes the keys below a time's 8 bytes, so the
-- expiry index goes. Sessions stored under the old keys (the hash of 32 random bytes) are not
-- found by any token now: they end here (a session lasts 15 minutes). Keep in step with
-- ../postgres.
CREATE TABLE sessions_ordered (
    token_hash BLOB    PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES persons (id),
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
DROP TABLE sessions;
ALTER TABLE sessions_ordered RENAME TO sessions;

-- Spent nonces are purged as the expired beginning of the table, in the order they were spent
-- (src/login.rs), so their expiry index goes too: every login and code exchange writes one
-- b-tree less.
DROP INDEX spent_nonces_by_expiry;
