-- process_purchase: one sale of several products on a customer's account, all or nothing.
--
-- The business is the one bound to the transaction (app.business_id), never an argument.
-- Lock order, the same in every transaction that writes the ledger: the customer row first,
-- then the product rows in one statement ordered by id. Payments lock only the customer.
--
-- Refusals carry their own SQLSTATE and, in DETAIL, a JSON object with the facts a person needs:
--   SC001 insufficient stock       {"product_id", "name", "available", "requested"}
--   SC002 credit limit exceeded    {"available_credit", "total"}
--   SC003 not found                {"entity": "customer"|"product", "id"}
--   SC004 invalid input            {"field", "line"}   (line: 1-based, when one line is at fault)
--   SC006 customer archived        {"customer_id"}
--   SC007 idempotency key reused   {"order_id"}        (the key belongs to another customer's sale)

-- What the customer owed right after this sale: the receipt and an API replay show it.
ALTER TABLE orders ADD COLUMN balance_after numeric(12, 2) NOT NULL DEFAULT 0
    CHECK (balance_after >= 0);
ALTER TABLE orders ALTER COLUMN balance_after DROP DEFAULT;

CREATE FUNCTION ledger_refuse(p_sqlstate text, p_message text, p_detail jsonb) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = p_sqlstate, MESSAGE = p_message, DETAIL = p_detail::text;
END
$$;

-- One line of a sale as locked: what the checks and the writes need.
CREATE TYPE purchase_line AS (
    product_id uuid,
    name       text,
    quantity   integer,
    unit_price numeric(12, 2),
    stock      integer,
    is_active  boolean
);

CREATE FUNCTION process_purchase(
    p_customer_id     uuid,
    p_items           jsonb,
    p_idempotency_key uuid,
    p_user_id         uuid,
    p_api_token_id    uuid DEFAULT NULL,
    OUT order_id      uuid,
    OUT created       boolean,  -- false: the key named a sale already recorded, returned as it was
    OUT total         numeric,
    OUT balance_after numeric,
    OUT due_on        date
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_business uuid := current_business_id();
    v_item     record;
    v_ids      uuid[];
    v_qtys     integer[];
    v_lines    purchase_line[];
    v_bad      purchase_line;
    v_missing  uuid;
    v_customer record;
    v_existing record;
    v_total    numeric;
BEGIN
    IF v_business IS NULL THEN
        PERFORM ledger_refuse('SC004', 'no business is bound to this transaction', '{}');
    END IF;

    -- 1. Input, checked before anything is read or written.
    IF p_customer_id IS NULL THEN
        PERFORM ledger_refuse('SC004', 'choose a customer', '{"field": "customer_id"}');
    END IF;
    IF p_idempotency_key IS NULL THEN
        PERFORM ledger_refuse('SC004', 'an idempotency key is required',
                              '{"field": "idempotency_key"}');
    END IF;
    IF p_items IS NULL OR jsonb_typeof(p_items) <> 'array' OR jsonb_array_length(p_items) = 0 THEN
        PERFORM ledger_refuse('SC004', 'add at least one item', '{"field": "items"}');
    END IF;
    IF jsonb_array_length(p_items) > 500 THEN
        PERFORM ledger_refuse('SC004', 'a sale has at most 500 lines', '{"field": "items"}');
    END IF;
    FOR v_item IN
        SELECT e.value AS item, e.ordinality AS line
          FROM jsonb_array_elements(p_items) WITH ORDINALITY e
    LOOP
        -- Nested, not OR-ed: SQL does not promise to test conditions left to right.
        IF jsonb_typeof(v_item.item) <> 'object'
           OR jsonb_typeof(v_item.item -> 'product_id') IS DISTINCT FROM 'string' THEN
            PERFORM ledger_refuse('SC004', 'choose a product',
                                  jsonb_build_object('field', 'product_id', 'line', v_item.line));
        END IF;
        IF NOT (v_item.item ->> 'product_id') ~* '^[0-9a-f]{8}(-?[0-9a-f]{4}){3}-?[0-9a-f]{12}$' THEN
            PERFORM ledger_refuse('SC004', 'choose a product',
                                  jsonb_build_object('field', 'product_id', 'line', v_item.line));
        END IF;
        IF jsonb_typeof(v_item.item -> 'quantity') IS DISTINCT FROM 'number' THEN
            PERFORM ledger_refuse('SC004', 'the quantity must be a whole number from 1 to 100000',
                                  jsonb_build_object('field', 'quantity', 'line', v_item.line));
        END IF;
        IF (v_item.item ->> 'quantity')::numeric NOT BETWEEN 1 AND 100000
           OR (v_item.item ->> 'quantity')::numeric % 1 <> 0 THEN
            PERFORM ledger_refuse('SC004', 'the quantity must be a whole number from 1 to 100000',
                                  jsonb_build_object('field', 'quantity', 'line', v_item.line));
        END IF;
    END LOOP;

    -- Lines of one product become one line, in product id order (the lock order).
    SELECT array_agg(m.product_id ORDER BY m.product_id), array_agg(m.quantity ORDER BY m.product_id)
      INTO v_ids, v_qtys
      FROM (SELECT (e ->> 'product_id')::uuid AS product_id,
                   sum((e ->> 'quantity')::numeric)::integer AS quantity
              FROM jsonb_array_elements(p_items) e
             GROUP BY 1) m;
    IF EXISTS (SELECT FROM unnest(v_qtys) q WHERE q > 100000) THEN
        PERFORM ledger_refuse('SC004', 'the quantity must be a whole number from 1 to 100000',
                              '{"field": "quantity"}');
    END IF;

    -- 2. A key seen before: that sale again, and nothing changes.
    SELECT o.id, o.customer_id, o.total, o.balance_after, o.due_on INTO v_existing
      FROM orders o WHERE o.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        IF v_existing.customer_id <> p_customer_id THEN
            PERFORM ledger_refuse('SC007', 'this idempotency key belongs to another sale',
                                  jsonb_build_object('order_id', v_existing.id));
        END IF;
        SELECT v_existing.id, false, v_existing.total, v_existing.balance_after, v_existing.due_on
          INTO order_id, created, total, balance_after, due_on;
        RETURN;
    END IF;

    -- 3. Locks: the customer, then every product in one statement, ordered by id.
    SELECT c.balance, c.credit_limit, c.is_archived INTO v_customer
      FROM customers c WHERE c.id = p_customer_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger_refuse('SC003', 'customer not found',
                              jsonb_build_object('entity', 'customer', 'id', p_customer_id));
    END IF;

    -- Another till may have finished this very sale while we waited for the customer.
    SELECT o.id, false, o.total, o.balance_after, o.due_on
      INTO order_id, created, total, balance_after, due_on
      FROM orders o WHERE o.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        RETURN;
    END IF;

    IF v_customer.is_archived THEN
        PERFORM ledger_refuse('SC006', 'this customer is archived and cannot buy on credit',
                              jsonb_build_object('customer_id', p_customer_id));
    END IF;

    SELECT array_agg(ROW(p.id, p.name, l.quantity, p.price, p.stock, p.is_active)::purchase_line
                     ORDER BY p.id)
      INTO v_lines
      FROM (SELECT p.id, p.name, p.price, p.stock, p.is_active
              FROM products p
             WHERE p.id = ANY (v_ids)
             ORDER BY p.id
               FOR NO KEY UPDATE) p
      JOIN unnest(v_ids, v_qtys) AS l(product_id, quantity) ON l.product_id = p.id;

    SELECT i INTO v_missing FROM unnest(v_ids) i
     WHERE i NOT IN (SELECT l.product_id FROM unnest(v_lines) l WHERE l.is_active)
     ORDER BY i LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_refuse('SC003', 'product not found',
                              jsonb_build_object('entity', 'product', 'id', v_missing));
    END IF;

    -- 4. Stock, then credit, checked on the rows we now hold.
    SELECT * INTO v_bad FROM unnest(v_lines) l WHERE l.stock < l.quantity ORDER BY l.product_id LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_refuse('SC001', 'insufficient stock',
                              jsonb_build_object('product_id', v_bad.product_id, 'name', v_bad.name,
                                                 'available', v_bad.stock,
                                                 'requested', v_bad.quantity));
    END IF;

    SELECT sum(l.unit_price * l.quantity) INTO v_total FROM unnest(v_lines) l;
    IF v_total <= 0 THEN
        PERFORM ledger_refuse('SC004', 'a sale must come to more than zero', '{"field": "items"}');
    END IF;
    IF v_customer.balance + v_total > v_customer.credit_limit THEN
        PERFORM ledger_refuse('SC002', 'credit limit exceeded',
                              jsonb_build_object(
                                  'available_credit',
                                  greatest(v_customer.credit_limit - v_customer.balance, 0),
                                  'total', v_total));
    END IF;

    -- 5. Write: the order, its lines at today's prices, stock and its history, the balance.
    INSERT INTO orders (business_id, customer_id, total, due_on, created_by, api_token_id,
                        idempotency_key, balance_after)
    SELECT v_business, p_customer_id, v_total,
           (now() AT TIME ZONE b.timezone)::date + b.credit_days,
           p_user_id, p_api_token_id, p_idempotency_key, v_customer.balance + v_total
      FROM businesses b WHERE b.id = v_business
    RETURNING id, orders.total, orders.balance_after, orders.due_on
         INTO order_id, total, balance_after, due_on;

    INSERT INTO order_items (business_id, order_id, product_id, quantity, unit_price)
    SELECT v_business, order_id, l.product_id, l.quantity, l.unit_price FROM unnest(v_lines) l;

    UPDATE products p SET stock = p.stock - l.quantity
      FROM unnest(v_lines) l WHERE p.id = l.product_id;

    INSERT INTO stock_movements (business_id, product_id, change, reason, resulting_stock,
                                 order_id, created_by)
    SELECT v_business, l.product_id, -l.quantity, 'sale', l.stock - l.quantity, order_id, p_user_id
      FROM unnest(v_lines) l;

    UPDATE customers c SET balance = c.balance + v_total WHERE c.id = p_customer_id;
    created := true;
END
$$;

REVOKE ALL ON FUNCTION process_purchase(uuid, jsonb, uuid, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION process_purchase(uuid, jsonb, uuid, uuid, uuid) TO shopcredit_app;
REVOKE ALL ON FUNCTION ledger_refuse(text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_refuse(text, text, jsonb) TO shopcredit_app;

-- API tokens are looked up before a tenant is known: the second narrow window through RLS.
-- It answers only for the hash of a token that is not revoked.
CREATE FUNCTION api_token_lookup(p_token_hash text)
RETURNS TABLE (business_id uuid, token_id uuid, created_by uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT t.business_id, t.id, t.created_by
    FROM api_tokens t
    WHERE t.token_hash = p_token_hash AND t.revoked_at IS NULL
$$;
REVOKE ALL ON FUNCTION api_token_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_token_lookup(text) TO shopcredit_app;
