-- Operators are people with roles (docs/architecture.md §9): an operator account is bound to
-- the person whose card signs the operator in. One account at a time per person; an ended
-- account stays, so that the operator log's references keep their meaning. Keep in step with
-- ../sqlite.
CREATE TABLE operators (
    id         BIGSERIAL PRIMARY KEY,
    person_id  BIGINT  NOT NULL REFERENCES persons (id),
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL
        CHECK (role IN ('administrator', 'point-secretariat', 'help-desk', 'auditor')),
    created_at BIGINT  NOT NULL,
    ended_at   BIGINT
);
CREATE UNIQUE INDEX one_operator_account_per_person ON operators (person_id)
    WHERE ended_at IS NULL;

-- Every operator act, append-only and hash-chained like a person's log (one chain for the
-- whole platform, seq 1, 2, 3, …): who, which role, what, on what, when, from where.
CREATE TABLE operator_log (
    seq    BIGINT  PRIMARY KEY,
    at     BIGINT  NOT NULL,
    kind   TEXT    NOT NULL,
    detail TEXT    NOT NULL,
    hash   BYTEA   NOT NULL
);

-- A person's use of the system suspended by the help desk (Art 8.2), and the use of their My
-- Key ID on its own — the person's, so that revoking the ID and making another does not escape
-- it: who did it and why is in both logs.
ALTER TABLE persons ADD COLUMN suspended_at BIGINT ;
ALTER TABLE persons ADD COLUMN my_key_id_suspended_at BIGINT ;
