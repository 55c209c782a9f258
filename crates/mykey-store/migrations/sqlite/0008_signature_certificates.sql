-- The signature certificate each linked person held when they last linked (learnt from J-LIS's
-- signature-certificate status service), so that a sweep of the signature CA's CRLs finds whose
-- four facts changed (Art 17.2.2) with one indexed look-up per revoked serial. `revoked_at` is
-- set when a sweep or a check found it revoked: the change is told once. Keep in step with
-- ../postgres.
CREATE TABLE signature_certificates (
    person_id  INTEGER PRIMARY KEY REFERENCES persons (id),
    serial     BLOB    NOT NULL,
    noted_at   INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX signature_certificates_by_serial ON signature_certificates (serial);
