-- The ID J-LIS gave the ticket-item data it last wrote to each person's card (16 random bytes,
-- signed with the facts, file 0003's DF 34): a card made with someone else's facts, or the
-- data of a card since replaced, carries another.
ALTER TABLE persons ADD COLUMN ticket_item_id BLOB;
