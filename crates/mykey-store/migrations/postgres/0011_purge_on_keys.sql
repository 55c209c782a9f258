-- Spent nonces and access tokens are purged on their keys, which begin with their expiry
-- (8 bytes, big-endian; mykey_platform::challenge, client_auth and oidc::tokens): the expiry
-- indexes go, and with them a second index write per row. Keep in step with ../sqlite.

-- A client assertion's jti spent before this version is keyed SHA-256("mykey-client-assertion-v1"
-- ‖ client ‖ jti); now it is the expiry ‖ the first 24 bytes of that hash. Re-key the old ones,
-- so that a replay meets its key and the purge finds them.
DELETE FROM used_nonces AS o
 WHERE substring(o.nonce FROM 1 FOR 8) <> int8send(o.expires_at)
   AND EXISTS (SELECT 1 FROM used_nonces AS n
                WHERE n.nonce = int8send(o.expires_at) || substring(o.nonce FROM 1 FOR 24));
UPDATE used_nonces
   SET nonce = int8send(expires_at) || substring(nonce FROM 1 FOR 24)
 WHERE substring(nonce FROM 1 FOR 8) <> int8send(expires_at);
DROP INDEX used_nonces_by_expiry;

-- Access tokens keyed by a hash no token maps to now cannot be used, and their keys do not begin
-- with their expiry.
DELETE FROM access_tokens WHERE substring(token_hash FROM 1 FOR 8) <> int8send(expires_at);
DROP INDEX access_tokens_by_expiry;

-- Redeeming a code no longer moves the request's keep_until to its token's expiry: the purge
-- keeps a request while a token refers to it.
