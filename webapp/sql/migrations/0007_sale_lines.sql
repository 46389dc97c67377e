-- 0007: a sale's lines keep the order they were entered in, and a sale can be a quick entry: an
-- amount with a note and no items, as shops that keep a credit book write one.

-- line_no: 1, 2, … in the order the clerk entered the lines (a product entered twice keeps its
-- first place). Sales made before this kept no order; their receipts listed the lines by
-- product name, so that is the order they keep.
ALTER TABLE order_items ADD COLUMN line_no integer;
UPDATE order_items i
   SET line_no = n.line_no
  FROM (SELECT i2.business_id, i2.id,
               row_number() OVER (PARTITION BY i2.business_id, i2.order_id
                                  ORDER BY p.name, i2.id) AS line_no
          FROM order_items i2
          JOIN products p ON p.business_id = i2.business_id AND p.id = i2.product_id) n
 WHERE i.business_id = n.business_id AND i.id = n.id;
ALTER TABLE order_items
    ALTER COLUMN line_no SET NOT NULL,
    ADD CONSTRAINT order_items_line_no_check CHECK (line_no BETWEEN 1 AND 500);

-- What a quick entry was for ("goods, 3 December"); a sale with items may carry one too.
ALTER TABLE orders ADD COLUMN note text NOT NULL DEFAULT '' CHECK (length(note) <= 200);

-- process_purchase keeps each line's place while it holds the lines in lock order.
ALTER TYPE purchase_line ADD ATTRIBUTE line_no integer;

-- process_purchase now takes an amount and a note (a quick entry): its definition is
-- webapp/sql/functions/process_purchase.sql; the signature it replaces goes.
DROP FUNCTION IF EXISTS process_purchase(uuid, uuid, jsonb, uuid, uuid, uuid);
