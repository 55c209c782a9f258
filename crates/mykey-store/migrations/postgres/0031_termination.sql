-- The end of the system (Terms Art 10; docs/architecture.md §9): announced at least three
-- months ahead (or, urgent, with a reason), with a notice in English and Japanese; withdrawn
-- before the date, or carried out on it — new applications stop and the card-point rights are
-- forfeited (Art 27.1.3), `carried_out_at` saying when that was done. At most one announcement
-- stands at a time. Keep in step with ../sqlite.
CREATE TABLE terminations (
    id             BIGSERIAL PRIMARY KEY,
    terminates_at  BIGINT NOT NULL,
    notice_en      TEXT    NOT NULL,
    notice_ja      TEXT    NOT NULL,
    announced_at   BIGINT NOT NULL,
    urgent_reason  TEXT,
    withdrawn_at   BIGINT,
    carried_out_at BIGINT
);
CREATE UNIQUE INDEX one_standing_termination ON terminations ((withdrawn_at IS NULL))
    WHERE withdrawn_at IS NULL;
