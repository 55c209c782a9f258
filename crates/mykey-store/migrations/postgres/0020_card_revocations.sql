-- What J-LIS's CRLs say of each card the platform knows (issue 21.2, found by an attack on the
-- running platform): when and why its user-identification certificate was revoked or suspended
-- (a lifted suspension clears it). A relying party applying with a My Key ID (Art 17.1) is
-- refused while its holder's newest card is revoked, suspended or expired. Keep in step with
-- ../sqlite.
ALTER TABLE issuance_numbers ADD COLUMN revoked_at BIGINT;
ALTER TABLE issuance_numbers ADD COLUMN revocation_reason TEXT;
