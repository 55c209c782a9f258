-- Spent nonces and access tokens are purged on their keys, which begin with their expiry
-- (8 bytes, big-endian; mykey_platform::challenge, client_auth and oidc::tokens): the expiry
-- indexes go, and with them a second b-tree write per row, on a random page of the index for
-- rows that expire in the same second. Keep in step with ../postgres.

-- A client assertion's jti spent before 0010 is keyed SHA-256("mykey-client-assertion-v1" ‖
-- client ‖ jti); from 0010 on it is the expiry ‖ the first 24 bytes of that hash. Re-key the
-- old ones, so that a replay meets its key and the purge finds them. (Built through hex: `||`
-- would make text of the blobs.)
DELETE FROM used_nonces AS o
 WHERE substr(o.nonce, 1, 8) != unhex(printf('%016x', o.expires_at))
   AND EXISTS (SELECT 1 FROM used_nonces AS n
                WHERE n.nonce = unhex(printf('%016x', o.expires_at) || hex(substr(o.nonce, 1, 24))));
UPDATE used_nonces
   SET nonce = unhex(printf('%016x', expires_at) || hex(substr(nonce, 1, 24)))
 WHERE substr(nonce, 1, 8) != unhex(printf('%016x', expires_at));
DROP INDEX used_nonces_by_expiry;

-- Access tokens made before 0010 are keyed by a hash no token maps to now: they cannot be used,
-- and their keys do not begin with their expiry.
DELETE FROM access_tokens WHERE substr(token_hash, 1, 8) != unhex(printf('%016x', expires_at));
DROP INDEX access_tokens_by_expiry;

-- Redeeming a code no longer moves the request's keep_until to its token's expiry: the purge
-- keeps a request while a token refers to it.
