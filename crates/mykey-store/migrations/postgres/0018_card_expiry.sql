-- The end of a card ends the My Key ID (issue 21.2, Art 15.3): each issuance number keeps when
-- its user-identification certificate expires (NULL: a number linked before this migration,
-- learnt at its holder's next renewal), so that a card that expires without a renewal is found.
-- Keep in step with ../sqlite.
ALTER TABLE issuance_numbers ADD COLUMN expires_at BIGINT;
CREATE INDEX issuance_numbers_by_expiry ON issuance_numbers (expires_at) WHERE expires_at IS NOT NULL;
