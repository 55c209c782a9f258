-- Cross-device logins the person can judge and the browser must prove (issue 19, finding 7):
-- * `began_from`, `browser`: where the browser that began a request is (its address as the
--   platform saw it, and a short description of its User-Agent), shown on the phone.
-- * `confirm_hash`, `confirm_tries`: a login approved where the browser could be someone
--   else's (a portal login; a relying party's login found by its short code) is continued only
--   by a browser that types the code the phone showed: SHA-256 of it, cleared once typed; five
--   wrong tries decline the request.
-- * `authorization_reports`: requests a person refused and reported as not theirs, for the
--   operator.
-- * `access_tokens.facts_logged_at`: userinfo's answers are logged once per access token, so a
--   relying party cannot grow a person's log by asking again and again (finding 9).
-- Keep in step with ../postgres.
ALTER TABLE authorizations ADD COLUMN began_from TEXT;
ALTER TABLE authorizations ADD COLUMN browser TEXT;
ALTER TABLE authorizations ADD COLUMN confirm_hash BLOB;
ALTER TABLE authorizations ADD COLUMN confirm_tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_tokens ADD COLUMN facts_logged_at INTEGER;
CREATE TABLE authorization_reports (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    reported_at      INTEGER NOT NULL,
    relying_party_id INTEGER REFERENCES relying_parties (id),
    purpose          TEXT    NOT NULL,
    began_at         INTEGER NOT NULL,
    began_from       TEXT,
    browser          TEXT,
    by_short_code    INTEGER NOT NULL,
    reported_from    TEXT
);
CREATE INDEX authorization_reports_by_time ON authorization_reports (reported_at);
