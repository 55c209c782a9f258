-- Event streams (SSF-style): one per relying party, push (RFC 8935) or poll (RFC 8936), the
-- event kinds it wants, and the push delivery's state (the oldest pending event is retried with
-- back-off until the receiver takes it, so events arrive in order). Keep in step with ../sqlite.
CREATE TABLE streams (
    relying_party_id     BIGINT  PRIMARY KEY REFERENCES relying_parties (id),
    delivery             TEXT    NOT NULL CHECK (delivery IN ('push', 'poll')),
    endpoint_url         TEXT,
    authorization_header TEXT,
    events_requested     TEXT    NOT NULL,
    created_at           BIGINT  NOT NULL,
    attempts             BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at      BIGINT  NOT NULL DEFAULT 0,
    last_error           TEXT,
    last_delivered_at    BIGINT,
    CHECK ((delivery = 'push') = (endpoint_url IS NOT NULL))
);
CREATE INDEX streams_due ON streams (next_attempt_at) WHERE delivery = 'push';

-- A SET the receiver refused (RFC 8935 §2.3: not to be sent again): why, kept with the event.
ALTER TABLE events ADD COLUMN refused TEXT;
