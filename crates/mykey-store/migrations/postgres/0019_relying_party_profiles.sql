-- Where people turn to a relying party (issue 21.5, Terms Art 17.2.3, 18, 21): its contact point
-- and its privacy-policy and terms URLs, given at registration and shown in every consent screen,
-- the portal and the phone's view. NULL: a relying party registered before this migration, until
-- it sets them (PUT /v1/rp/profile). Keep in step with ../sqlite.
ALTER TABLE relying_parties ADD COLUMN contact TEXT;
ALTER TABLE relying_parties ADD COLUMN privacy_policy_url TEXT;
ALTER TABLE relying_parties ADD COLUMN terms_url TEXT;
