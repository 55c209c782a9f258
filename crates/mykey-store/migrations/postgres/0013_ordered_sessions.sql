-- Sessions are keyed by their expiry first (mykey_platform's ordered_token.rs): new keys go to
-- the end of the primary key's index instead of a random page of it, and the purge deletes the
-- keys below a time's 8 bytes, so the expiry index goes. Sessions stored under the old keys
-- (the hash of 32 random bytes) are not found by any token now: they end here (a session lasts
-- 15 minutes). Nodes sharing the database are upgraded together: one still on the previous
-- version would store sessions the others cannot find, under keys this purge never reaches.
-- Keep in step with ../sqlite.
DELETE FROM sessions;
DROP INDEX sessions_by_expiry;
