-- What the purge deletes after a while, on indexes of their own, so that neither table grows
-- with the years (docs/performance.md, "Ten million people"): acknowledged events 30 days
-- after (mykey_platform::ACKNOWLEDGED_EVENT_KEEP_SECS; the index holds only acknowledged ones),
-- link requests a day after they expired (LINK_REQUEST_KEEP_SECS). Keep in step with ../postgres.
CREATE INDEX events_acknowledged ON events (acknowledged_at) WHERE acknowledged_at IS NOT NULL;
CREATE INDEX link_requests_by_expiry ON link_requests (expires_at);
