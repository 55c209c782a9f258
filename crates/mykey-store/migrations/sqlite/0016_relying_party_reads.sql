-- Relying parties reading a person's links or PPIDs: the person sees it in their log (issue 21.7),
-- once a day per relying party and kind of read, so that listing
-- again and again cannot grow the log. A row per (person, relying party, what, day in Japan);
-- rows of days gone are purged. Keep in step with ../postgres.
CREATE TABLE relying_party_reads (
    person_id        INTEGER NOT NULL REFERENCES persons (id),
    relying_party_id INTEGER NOT NULL REFERENCES relying_parties (id),
    what             TEXT    NOT NULL CHECK (what IN ('service-ids', 'ppids')),
    day              INTEGER NOT NULL,
    PRIMARY KEY (person_id, relying_party_id, what, day)
);
CREATE INDEX relying_party_reads_by_day ON relying_party_reads (day);
