-- The card-point programme's parties (Terms Art 26): registered payment providers and
-- application-support businesses (kiosks) are relying parties of their own kinds, and events
-- can be about a point application. Keep in step with ../sqlite.
ALTER TABLE relying_parties DROP CONSTRAINT relying_parties_kind_check;
ALTER TABLE relying_parties ADD CONSTRAINT relying_parties_kind_check
    CHECK (kind IN ('public-authority', 'business', 'payment-provider', 'kiosk'));
ALTER TABLE events DROP CONSTRAINT events_subject_kind_check;
ALTER TABLE events ADD CONSTRAINT events_subject_kind_check
    CHECK (subject_kind IN ('customer-id', 'ppid', 'point-application'));
