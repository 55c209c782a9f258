-- Several nodes on one database (docs/operations.md, "Several nodes"): the secrets every node
-- must agree on (the challenge key, the PPID key, the signing keys), each sealed with the
-- nodes' secrets.key, so that they are backed up with the data; and the leases that give each
-- piece of background work to one node at a time, timed by the database's clock. Keep in step
-- with ../postgres.
CREATE TABLE cluster_secrets (
    name    TEXT PRIMARY KEY,
    sealed  BLOB   NOT NULL,
    made_at INTEGER NOT NULL
);
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at INTEGER NOT NULL
);
