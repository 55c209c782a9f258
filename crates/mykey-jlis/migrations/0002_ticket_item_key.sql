-- J-LIS's key for signing the four facts it writes to a card's ticket-item AP (file 0003),
-- sealed like the CA keys. One row.
CREATE TABLE ticket_item_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    key_pkcs8   BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);
