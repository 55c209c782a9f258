-- The facts-change sweep (Art 17.2.2) keeps up with every person it follows:
-- * `renote`: the noted signature certificate must be learnt again from J-LIS (1) after a change
--   of the four facts was told (the person holds a new certificate now), (2) after a renewal of the card
--   (the new card has its own). Without it a second change, or any change after a renewal, was
--   never found.
-- * `crl_sweeps`: how far each signature CA's CRLs were read, so that a new complete CRL is read
--   when the deltas move to a new base (a revocation first published in it was missed before),
--   and a restart goes on where it left off.
-- * `issuance_numbers.link_seq`: a person's numbers in the order they were linked, so that the
--   newest (the one J-LIS is asked about) is known even when two were linked in one second.
-- Keep in step with ../sqlite.
ALTER TABLE signature_certificates ADD COLUMN renote BIGINT NOT NULL DEFAULT 0;
UPDATE signature_certificates SET renote = 1 WHERE revoked_at IS NOT NULL;
UPDATE signature_certificates SET renote = 2
 WHERE noted_at < (SELECT MAX(i.linked_at) FROM issuance_numbers i
                    WHERE i.person_id = signature_certificates.person_id);
CREATE INDEX signature_certificates_to_renote ON signature_certificates (person_id) WHERE renote > 0;
CREATE TABLE crl_sweeps (
    ca_key_id       BYTEA   PRIMARY KEY,
    complete_number BIGINT  NOT NULL,
    delta_number    BIGINT  NOT NULL,
    swept_at        BIGINT  NOT NULL
);
ALTER TABLE issuance_numbers ADD COLUMN link_seq BIGINT NOT NULL DEFAULT 0;
