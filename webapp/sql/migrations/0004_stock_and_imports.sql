-- Managing the shop: stock changes other than sales, opening balances, and CSV imports.
--
-- Lock order, as everywhere: a customer, then products by id, then open_dues rows by due date.
-- adjust_stock takes one product and nothing else; record_opening_balances takes its customers
-- (in id order), then the open_dues rows of one due date (in shard order).

-- A restock or correction sent twice (a double click, a resent form) is recorded once.
ALTER TABLE stock_movements ADD COLUMN idempotency_key uuid;
-- A count that matches the stock is a history line too (change 0): it says the shelf was
-- counted, and it keeps its key, so the same count sent again after a sale is not applied anew.
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_change_check,
    ADD CONSTRAINT stock_movements_change_check CHECK (change <> 0 OR reason = 'count_correction');
CREATE UNIQUE INDEX stock_movements_idempotency_key
    ON stock_movements (business_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Stock that was there before its history was kept (products made before this migration, by
-- hand or by the demo loader) becomes each product's first history line, dated just before its
-- first sale, so that every product's history adds up to its stock from now on. In the name of
-- the business's first owner (created_by names who recorded a line; no one did, here).
INSERT INTO stock_movements (business_id, product_id, change, reason, resulting_stock,
                             created_by, created_at)
SELECT p.business_id, p.id, p.stock - coalesce(m.total, 0), 'opening',
       p.stock - coalesce(m.total, 0), recorder.id,
       least(p.created_at, m.first_at - interval '1 second')
  FROM products p
  LEFT JOIN (SELECT business_id, product_id, sum(change) AS total, min(created_at) AS first_at
               FROM stock_movements GROUP BY 1, 2) m
         ON m.business_id = p.business_id AND m.product_id = p.id
  JOIN LATERAL (SELECT u.id FROM users u WHERE u.business_id = p.business_id
                 ORDER BY u.role = 'owner' DESC, u.created_at, u.id LIMIT 1) recorder ON true
 WHERE p.stock - coalesce(m.total, 0) > 0;

-- An opening balance carried over from the paper book is a sale with no items: it is owed,
-- paid and aged like any sale, so every ledger invariant holds unchanged.
ALTER TABLE orders ADD COLUMN is_opening_balance boolean NOT NULL DEFAULT false;

-- One row per CSV import: the upload's idempotency key makes a confirm sent twice import once.
CREATE TABLE imports (
    business_id     uuid NOT NULL REFERENCES businesses (id),
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    kind            text NOT NULL CHECK (kind IN ('customers', 'products')),
    row_count       integer NOT NULL CHECK (row_count > 0),
    idempotency_key uuid NOT NULL,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, idempotency_key),
    FOREIGN KEY (business_id, created_by) REFERENCES users (business_id, id)
);
ALTER TABLE imports ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON imports
    USING (business_id = current_business_id()) WITH CHECK (business_id = current_business_id());
GRANT SELECT, INSERT ON imports TO shopcredit_app;

-- adjust_stock(product, change, reason, note, key, user, counted) → the movement and the stock.
-- A delivery adds, damage removes, a count correction either; with p_counted (a count
-- correction only) the change is what makes the stock equal the count, worked out under the
-- product's lock; a count that matches is recorded with a change of 0.
-- Refusals: SC001 stock would go below zero, SC003 product not found, SC004 bad input, SC007
-- the key was used for another product's change.
CREATE FUNCTION adjust_stock(
    p_product_id      uuid,
    p_change          integer,
    p_reason          text,
    p_note            text,
    p_idempotency_key uuid,
    p_user_id         uuid,
    p_counted         integer DEFAULT NULL,
    OUT movement_id   uuid,
    OUT created       boolean,
    OUT change        integer,
    OUT resulting_stock integer
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_business uuid := current_business_id();
    v_stock    integer;
    v_name     text;
    v_change   integer := p_change;
    v_keyed_product uuid;
BEGIN
    IF v_business IS NULL THEN
        PERFORM ledger_refuse('SC004', 'no business is bound to this transaction', '{}');
    END IF;
    IF p_idempotency_key IS NULL THEN
        PERFORM ledger_refuse('SC004', 'an idempotency key is required',
                              '{"field": "idempotency_key"}');
    END IF;
    IF p_reason IS NULL OR p_reason NOT IN ('delivery', 'count_correction', 'damage') THEN
        PERFORM ledger_refuse('SC004', 'choose a reason: delivery, count correction or damage',
                              '{"field": "reason"}');
    END IF;
    IF p_counted IS NOT NULL AND (p_reason <> 'count_correction' OR p_counted NOT BETWEEN 0 AND 1000000000) THEN
        PERFORM ledger_refuse('SC004', 'the count must be a whole number from 0 up',
                              '{"field": "counted"}');
    END IF;
    IF p_counted IS NULL AND (v_change IS NULL OR v_change = 0 OR abs(v_change) > 1000000) THEN
        PERFORM ledger_refuse('SC004', 'the change must be a whole number, not zero',
                              '{"field": "change"}');
    END IF;
    IF p_counted IS NULL AND ((p_reason = 'delivery' AND v_change < 0)
                              OR (p_reason = 'damage' AND v_change > 0)) THEN
        PERFORM ledger_refuse('SC004',
                              CASE p_reason WHEN 'delivery' THEN 'a delivery adds stock'
                                            ELSE 'damage removes stock' END,
                              '{"field": "change"}');
    END IF;
    IF length(coalesce(p_note, '')) > 500 THEN
        PERFORM ledger_refuse('SC004', 'the note is at most 500 characters', '{"field": "note"}');
    END IF;

    -- A key seen before answers with that movement (of this product only: another product's
    -- key is a client's mistake, refused as a sale's is). Looked at again under the product's
    -- lock, since another request with the same key may be committing it right now.
    FOR i IN 1..2 LOOP
        SELECT m.id, m.change, m.resulting_stock, m.product_id
          INTO movement_id, change, resulting_stock, v_keyed_product
          FROM stock_movements m
         WHERE m.business_id = v_business AND m.idempotency_key = p_idempotency_key;
        IF FOUND AND v_keyed_product <> p_product_id THEN
            PERFORM ledger_refuse('SC007', 'this idempotency key belongs to another stock change',
                                  jsonb_build_object('movement_id', movement_id));
        ELSIF FOUND THEN
            created := false;
            RETURN;
        END IF;
        EXIT WHEN i = 2;
        SELECT p.stock, p.name INTO v_stock, v_name
          FROM products p WHERE p.business_id = v_business AND p.id = p_product_id
           FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            PERFORM ledger_refuse('SC003', 'product not found',
                                  jsonb_build_object('entity', 'product', 'id', p_product_id));
        END IF;
    END LOOP;

    IF p_counted IS NOT NULL THEN
        v_change := p_counted - v_stock;
    END IF;
    IF v_stock + v_change < 0 THEN
        PERFORM ledger_refuse('SC001', 'insufficient stock',
                              jsonb_build_object('product_id', p_product_id, 'name', v_name,
                                                 'available', v_stock,
                                                 'requested', -v_change));
    END IF;

    WITH movement AS (
        INSERT INTO stock_movements (business_id, product_id, change, reason, resulting_stock,
                                     note, created_by, idempotency_key)
        SELECT v_business, p_product_id, v_change, p_reason, v_stock + v_change,
               coalesce(p_note, ''), u.id, p_idempotency_key
          FROM users u
         WHERE u.business_id = v_business AND u.id = p_user_id AND u.is_active
        RETURNING id
    ), stock AS (
        UPDATE products p SET stock = v_stock + v_change
          FROM movement
         WHERE p.business_id = v_business AND p.id = p_product_id
    )
    SELECT m.id INTO movement_id FROM movement m;
    IF movement_id IS NULL THEN
        PERFORM ledger_refuse('SC004', 'unknown or inactive user', '{"field": "user_id"}');
    END IF;
    created := true;
    change := v_change;
    resulting_stock := v_stock + v_change;
END
$$;
REVOKE ALL ON FUNCTION adjust_stock(uuid, integer, text, text, uuid, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION adjust_stock(uuid, integer, text, text, uuid, uuid, integer)
    TO shopcredit_app;

-- record_opening_balances(entries, user) → how many were recorded.
-- What customers already owed when the shop started using ShopCredit, each recorded as a sale
-- without items made today (due after the business's credit days, like any sale), within the
-- customer's credit limit. `entries` is a JSON array of {"customer_id", "amount"}: one for the
-- customer form, thousands for a CSV import, in one set of statements either way, so an import
-- holds the open_dues rows it adds to for milliseconds, not for a row-by-row loop.
-- Locks: the customers in id order, then the open_dues rows of today's due date in shard order.
-- Refusals: SC002 above a limit, SC003 customer not found, SC004 bad input; each names the
-- customer (DETAIL customer_id) so an import can point at the row.
CREATE FUNCTION record_opening_balances(p_entries jsonb, p_user_id uuid)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_business uuid := current_business_id();
    v_customer uuid;
    v_amount   numeric;
    v_balance  numeric;
    v_limit    numeric;
    v_count    integer;
BEGIN
    IF v_business IS NULL THEN
        PERFORM ledger_refuse('SC004', 'no business is bound to this transaction', '{}');
    END IF;
    IF p_entries IS NULL OR jsonb_typeof(p_entries) <> 'array'
       OR jsonb_array_length(p_entries) = 0 THEN
        PERFORM ledger_refuse('SC004', 'no opening balances given', '{"field": "entries"}');
    END IF;
    -- The first entry at fault: an id or amount that is not one, or a customer given twice.
    -- CASE tests in order, so nothing is cast before it is known to be castable.
    SELECT e ->> 'customer_id' INTO v_customer
      FROM jsonb_array_elements(p_entries) e
     WHERE CASE
               WHEN jsonb_typeof(e -> 'customer_id') IS DISTINCT FROM 'string'
                    OR (e ->> 'customer_id') !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
                   THEN true
               WHEN jsonb_typeof(e -> 'amount') IS DISTINCT FROM 'string'
                    OR (e ->> 'amount') !~ '^[0-9]{1,10}(\.[0-9]{1,2})?$'
                   THEN true
               ELSE (e ->> 'amount')::numeric <= 0
           END
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_refuse('SC004',
                              'an opening balance is more than zero, with at most 2 decimals',
                              jsonb_build_object('field', 'opening_balance',
                                                 'customer_id', v_customer));
    END IF;
    -- Compared as uuids (every id is known to be one by now): the same id in capitals is the
    -- same customer, and two entries for one customer would each pass the limit alone.
    IF (SELECT count(DISTINCT (e ->> 'customer_id')::uuid) FROM jsonb_array_elements(p_entries) e)
       <> jsonb_array_length(p_entries) THEN
        PERFORM ledger_refuse('SC004', 'a customer is given twice', '{"field": "entries"}');
    END IF;

    PERFORM 1 FROM customers c
     WHERE c.business_id = v_business
       AND c.id IN (SELECT (e ->> 'customer_id')::uuid FROM jsonb_array_elements(p_entries) e)
     ORDER BY c.id
       FOR NO KEY UPDATE;
    SELECT l.customer_id, l.amount, c.balance, c.credit_limit
      INTO v_customer, v_amount, v_balance, v_limit
      FROM (SELECT (e ->> 'customer_id')::uuid AS customer_id, (e ->> 'amount')::numeric AS amount
              FROM jsonb_array_elements(p_entries) e) l
      LEFT JOIN customers c ON c.business_id = v_business AND c.id = l.customer_id
     WHERE c.id IS NULL OR c.balance + l.amount > c.credit_limit
     ORDER BY c.id IS NOT NULL, l.customer_id
     LIMIT 1;
    IF FOUND AND v_balance IS NULL THEN
        PERFORM ledger_refuse('SC003', 'customer not found',
                              jsonb_build_object('entity', 'customer', 'id', v_customer,
                                                 'customer_id', v_customer));
    ELSIF FOUND THEN
        PERFORM ledger_refuse('SC002', 'credit limit exceeded',
                              jsonb_build_object('available_credit', greatest(v_limit - v_balance, 0),
                                                 'total', v_amount, 'customer_id', v_customer));
    END IF;

    WITH entries AS (
        SELECT (e ->> 'customer_id')::uuid AS customer_id, (e ->> 'amount')::numeric AS amount
          FROM jsonb_array_elements(p_entries) e
    ), new_orders AS (
        INSERT INTO orders (business_id, customer_id, total, due_on, created_by,
                            idempotency_key, balance_after, is_opening_balance)
        SELECT v_business, e.customer_id, e.amount,
               (now() AT TIME ZONE b.timezone)::date + b.credit_days,
               u.id, gen_random_uuid(), c.balance + e.amount, true
          FROM entries e
          JOIN customers c ON c.business_id = v_business AND c.id = e.customer_id
          JOIN businesses b ON b.id = v_business
          JOIN users u ON u.business_id = v_business AND u.id = p_user_id AND u.is_active
        RETURNING customer_id, total, due_on
    ), balances AS (
        UPDATE customers c
           SET balance = c.balance + o.total,
               oldest_open_due_on = least(c.oldest_open_due_on, o.due_on)
          FROM new_orders o
         WHERE c.business_id = v_business AND c.id = o.customer_id
    ), dues AS (
        INSERT INTO open_dues AS d (business_id, due_on, shard, owed)
        SELECT v_business, o.due_on, due_shard(o.customer_id), sum(o.total)
          FROM new_orders o
         GROUP BY 2, 3
         ORDER BY 2, 3
        ON CONFLICT ON CONSTRAINT open_dues_pkey DO UPDATE SET owed = d.owed + excluded.owed
    )
    SELECT count(*) INTO v_count FROM new_orders;
    IF v_count <> jsonb_array_length(p_entries) THEN
        PERFORM ledger_refuse('SC004', 'unknown or inactive user', '{"field": "user_id"}');
    END IF;
    RETURN v_count;
END
$$;
REVOKE ALL ON FUNCTION record_opening_balances(jsonb, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_opening_balances(jsonb, uuid) TO shopcredit_app;
