-- The end of a card ends the My Key ID (issue 21.2). Keep in step with ../postgres, which says
-- what each change is for.
ALTER TABLE issuance_numbers ADD COLUMN expires_at INTEGER;
CREATE INDEX issuance_numbers_by_expiry ON issuance_numbers (expires_at) WHERE expires_at IS NOT NULL;
