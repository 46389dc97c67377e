-- 0016: a sale writes fewer index entries (issue 13's benchmark). Each index below was written
-- on every line of every sale and read by no query:
--
-- order_items: every query reads a sale's lines by (business_id, order_id) — the receipt, the
-- return form, the statement, the export, the ledger check, the "same sale in 10 minutes?"
-- check — and none by the line's id or by product alone (the product page's history reads
-- stock_movements). The unique key (business_id, order_id, product_id) becomes the primary
-- key; the index on the line's id and the one on (business_id, product_id) go. (No product is
-- ever deleted — archived, not removed — so no foreign-key check needs the latter either.)
-- 3 index entries per line → 1.
ALTER TABLE order_items DROP CONSTRAINT order_items_pkey;
ALTER TABLE order_items DROP CONSTRAINT order_items_business_id_order_id_product_id_key;
ALTER TABLE order_items ADD CONSTRAINT order_items_pkey
    PRIMARY KEY (business_id, order_id, product_id);
DROP INDEX order_items_product_idx;

-- stock_movements: read by product (the product page's history, newest first, by created_at
-- then id; the ledger check's sum per product) and by idempotency key (its own partial
-- index), never by id alone. One primary key in the history's order replaces the key on the
-- id and the index by product: 2 index entries per movement → 1.
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_pkey;
DROP INDEX stock_movements_product_idx;
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_pkey
    PRIMARY KEY (business_id, product_id, created_at, id);
