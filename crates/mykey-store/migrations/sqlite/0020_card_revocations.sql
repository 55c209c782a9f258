-- What J-LIS's CRLs say of each card the platform knows (issue 21.2). Keep in step with
-- ../postgres, which says what it is for.
ALTER TABLE issuance_numbers ADD COLUMN revoked_at INTEGER;
ALTER TABLE issuance_numbers ADD COLUMN revocation_reason TEXT;
