-- process_purchase(business, customer, items, idempotency key, user, API token, amount, note,
-- override reason): one sale on a customer's account, all or nothing: several products (items,
-- in the order entered), or a quick entry (an amount with a note, no items), never both. It
-- takes the shop's next sale number. Over the customer's credit limit it is refused, unless an
-- owner gives a reason to record it anyway (the override is kept on the sale and in the
-- activity log).
--
-- The business is the one bound to the transaction (app.business_id): that binding is the
-- authority. p_business_id must name the same business (a distributed PostgreSQL, Citus, routes
-- each call by it); any other, or none bound, is refused before anything is read. Every
-- statement names the business: row-level security isolates the app role, and these words also
-- hold when the owner (who bypasses it) calls the function, as the demo loader does.
-- Lock order, the same in every transaction that writes the ledger: the customer row first,
-- then the product rows in one statement ordered by id, then (by writing it) the one
-- open_dues row of the sale's due date and the customer's shard, then the shop's sale
-- counter (document_counters), taken after every other row of the ledger is written; after it
-- only the order's own row, the reports' rollup rows (report_sales, report_owed: rows that
-- every sale of the shop that day shares, so they come while the counter already queues the
-- shop's tills) and the foreign-key checks remain.
--
-- Refusals carry their own SQLSTATE and, in DETAIL, a JSON object with the facts a person needs:
--   SC001 insufficient stock       {"product_id", "name", "available", "requested", "lines"}
--                                  (the first short line as sent; "lines": every short line,
--                                   [{"product_id", "name", "requested", "available"}] in order)
--   SC002 credit limit exceeded    {"available_credit", "total"}
--   SC003 not found                {"entity": "business"|"customer"|"product", "id"}
--                                  (business: p_business_id is not the bound business)
--   SC004 invalid input            {"field", "line", "lines"}  (line: 1-based, the first line at
--                                  fault; lines: every one, [{"line", "field", "message"}];
--                                  field: items, product_id, quantity, amount or note)
--   SC006 customer archived        {"customer_id"}
--   SC007 idempotency key reused   {"order_id"}        (the key made a sale of another request:
--                                  another customer, lines, amount or note)
--   SC008 not permitted            {"reason": "owner_only"}  (an override by a clerk)

CREATE OR REPLACE FUNCTION process_purchase(
    p_business_id     uuid,
    p_customer_id     uuid,
    p_items           jsonb,
    p_idempotency_key uuid,
    p_user_id         uuid,
    p_api_token_id    uuid,
    p_amount          numeric,  -- a quick entry's amount (then no items)
    p_note            text,     -- required with an amount; at most 200 characters
    p_override_reason text,     -- an owner's reason to go over the credit limit, or NULL
    OUT order_id      uuid,
    OUT created       boolean,  -- false: the key named a sale already recorded, returned as it was
    OUT total         numeric,
    OUT balance_after numeric,
    OUT due_on        date,
    OUT number        bigint,
    OUT overridden    boolean   -- recorded over the credit limit by an owner's override
)
LANGUAGE plpgsql
-- As the tables' owner: the app role may not write balances, stock or what is paid itself
-- (migration 0011). Row-level security does not hold the owner, so every statement here names
-- the business bound to the transaction, and every name is schema-qualified.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Every statement here has the same shape on every call: plan it once per connection instead
-- of once per sale.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_business uuid := public.current_business_id();
    -- Scalars, not records: a plan that reads a record's field is made again whenever the
    -- record is assigned, which would replan the statements below on every sale.
    v_bad_line   bigint;
    v_bad_field  text;
    v_bad_lines  jsonb;
    v_bad_message text;
    v_ids        uuid[];
    v_qtys       integer[];
    v_nos        integer[];
    v_quick      boolean := p_amount IS NOT NULL;
    v_note       text := btrim(coalesce(p_note, ''));
    v_override   text := nullif(btrim(coalesce(p_override_reason, '')), '');
    v_short      jsonb;
    v_lines      public.purchase_line[];
    v_existing   public.orders;
    v_hash       uuid;
    v_balance    numeric;
    v_limit      numeric;
    v_archived   boolean;
    v_missing    uuid;
    v_total      numeric;
    v_order      uuid;
BEGIN
    -- 0. The business named is the one bound to this transaction (the bound one decides).
    IF v_business IS NULL OR p_business_id IS DISTINCT FROM v_business THEN
        PERFORM public.ledger_refuse('SC003', 'business not found',
                              jsonb_build_object('entity', 'business', 'id', p_business_id));
    END IF;

    -- 1. Input, checked before anything is read or written.
    IF p_customer_id IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'choose a customer', '{"field": "customer_id"}');
    END IF;
    IF p_idempotency_key IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'an idempotency key is required',
                              '{"field": "idempotency_key"}');
    END IF;
    IF length(v_override) > 500 THEN
        PERFORM public.ledger_refuse('SC004', 'the reason can be at most 500 characters',
                              '{"field": "override_reason"}');
    END IF;
    IF length(v_note) > 200 THEN
        PERFORM public.ledger_refuse('SC004', 'the note can be at most 200 characters',
                              '{"field": "note"}');
    END IF;
    IF v_quick THEN
        -- A quick entry: the amount is the sale; the note says what it was for.
        IF p_items IS NOT NULL AND p_items <> '[]'::jsonb THEN
            PERFORM public.ledger_refuse('SC004', 'a sale is either items or an amount, not both',
                                  '{"field": "items"}');
        END IF;
        IF p_amount <= 0 THEN
            PERFORM public.ledger_refuse('SC004', 'the amount must be more than zero',
                                  '{"field": "amount"}');
        END IF;
        IF p_amount <> round(p_amount, 2) THEN
            PERFORM public.ledger_refuse('SC004', 'the amount can have at most two decimals',
                                  '{"field": "amount"}');
        END IF;
        IF p_amount > 9999999999.99 THEN
            PERFORM public.ledger_refuse('SC004', 'the amount is too large', '{"field": "amount"}');
        END IF;
        IF v_note = '' THEN
            PERFORM public.ledger_refuse('SC004', 'say what the amount is for in the note',
                                  '{"field": "note"}');
        END IF;
    ELSE
        IF p_items IS NULL OR jsonb_typeof(p_items) <> 'array'
           OR jsonb_array_length(p_items) = 0 THEN
            PERFORM public.ledger_refuse('SC004', 'add at least one item', '{"field": "items"}');
        END IF;
        IF jsonb_array_length(p_items) > 500 THEN
            PERFORM public.ledger_refuse('SC004', 'a sale has at most 500 lines', '{"field": "items"}');
        END IF;
        -- Every line at fault, if any: the first is named, and all are listed with their
        -- messages. CASE tests its branches in order, so no value is cast before it is known
        -- to be castable.
        SELECT min(e.line), (array_agg(e.field ORDER BY e.line))[1],
               (array_agg(e.message ORDER BY e.line))[1],
               jsonb_agg(jsonb_build_object('line', e.line, 'field', e.field,
                                            'message', e.message) ORDER BY e.line)
          INTO v_bad_line, v_bad_field, v_bad_message, v_bad_lines
          FROM (SELECT f.line, f.field,
                       CASE f.field
                           WHEN 'product_id' THEN 'choose a product'
                           ELSE 'the quantity must be a whole number from 1 to 100000'
                       END AS message
                  FROM (SELECT line,
                               CASE
                                   WHEN jsonb_typeof(item) <> 'object'
                                        OR jsonb_typeof(item -> 'product_id')
                                           IS DISTINCT FROM 'string'
                                        OR NOT (item ->> 'product_id')
                                               ~* '^[0-9a-f]{8}(-?[0-9a-f]{4}){3}-?[0-9a-f]{12}$'
                                       THEN 'product_id'
                                   WHEN jsonb_typeof(item -> 'quantity') IS DISTINCT FROM 'number'
                                       THEN 'quantity'
                                   WHEN (item ->> 'quantity')::numeric NOT BETWEEN 1 AND 100000
                                        OR (item ->> 'quantity')::numeric % 1 <> 0
                                       THEN 'quantity'
                               END AS field
                          FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x(item, line)) f
                 WHERE f.field IS NOT NULL) e;
        IF v_bad_line IS NOT NULL THEN
            PERFORM public.ledger_refuse('SC004', v_bad_message,
                                  jsonb_build_object('field', v_bad_field, 'line', v_bad_line,
                                                     'lines', v_bad_lines));
        END IF;

        -- Lines of one product become one line, in product id order (the lock order), keeping
        -- the place the product was first entered at.
        SELECT array_agg(m.product_id ORDER BY m.product_id),
               array_agg(m.quantity ORDER BY m.product_id),
               array_agg(m.line_no ORDER BY m.product_id)
          INTO v_ids, v_qtys, v_nos
          FROM (SELECT (item ->> 'product_id')::uuid AS product_id,
                       sum((item ->> 'quantity')::numeric) AS quantity,
                       min(line) AS line_no
                  FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x(item, line)
                 GROUP BY 1) m;
        IF 100000 < ANY (v_qtys) THEN
            PERFORM public.ledger_refuse('SC004',
                                  'the quantity must be a whole number from 1 to 100000',
                                  '{"field": "quantity"}');
        END IF;
    END IF;

    -- The request's fingerprint, kept with the sale its key makes: the same key again must
    -- come with the same request (the customer, the lines as merged, or the amount, the note).
    v_hash := md5(jsonb_build_object('customer', p_customer_id, 'products', to_jsonb(v_ids),
                                     'quantities', to_jsonb(v_qtys),
                                     'amount', round(p_amount, 2), 'note', v_note)::text)::uuid;

    -- 2. A key seen before: that sale again, and nothing changes.
    SELECT * INTO v_existing FROM public.orders o
     WHERE o.business_id = v_business AND o.idempotency_key = p_idempotency_key;
    IF v_existing.id IS NULL THEN
        -- 3. Locks: the customer (then, below, every product in one statement, ordered by id).
        SELECT c.balance, c.credit_limit, c.is_archived INTO v_balance, v_limit, v_archived
          FROM public.customers c WHERE c.business_id = v_business AND c.id = p_customer_id
           FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            PERFORM public.ledger_refuse('SC003', 'customer not found',
                                  jsonb_build_object('entity', 'customer', 'id', p_customer_id));
        END IF;
        -- The key again, under the customer's lock: another till may have just committed this
        -- very sale while we waited for that lock.
        SELECT * INTO v_existing FROM public.orders o
         WHERE o.business_id = v_business AND o.idempotency_key = p_idempotency_key;
    END IF;
    IF v_existing.id IS NOT NULL THEN
        IF v_existing.customer_id <> p_customer_id
           OR coalesce(v_existing.request_hash, v_hash) <> v_hash  -- (NULL: made before 0010)
        THEN
            PERFORM public.ledger_refuse('SC007',
                                  'this idempotency key was used for a different request',
                                  jsonb_build_object('order_id', v_existing.id));
        END IF;
        SELECT v_existing.id, false, v_existing.total, v_existing.balance_after,
               v_existing.due_on, v_existing.number, v_existing.override_reason IS NOT NULL
          INTO order_id, created, total, balance_after, due_on, number, overridden;
        RETURN;
    END IF;

    IF v_archived THEN
        PERFORM public.ledger_refuse('SC006', 'this customer is archived and cannot buy on credit',
                              jsonb_build_object('customer_id', p_customer_id));
    END IF;

    IF v_quick THEN
        v_total := p_amount;
    ELSE
        SELECT array_agg(ROW(p.id, p.name, l.quantity, p.price, p.stock, p.is_active,
                             l.line_no)::public.purchase_line
                         ORDER BY p.id)
          INTO v_lines
          FROM (SELECT p.id, p.name, p.price, p.stock, p.is_active
                  FROM public.products p
                 WHERE p.business_id = v_business AND p.id = ANY (v_ids)
                 ORDER BY p.id
                   FOR NO KEY UPDATE) p
          JOIN unnest(v_ids, v_qtys, v_nos) AS l(product_id, quantity, line_no)
            ON l.product_id = p.id;

        -- 4. On the rows we now hold: every product sold here, enough of each (every short
        -- line is named at once, in the order entered), the total.
        SELECT (SELECT i FROM unnest(v_ids) i
                 WHERE NOT EXISTS (SELECT FROM unnest(v_lines) l
                                    WHERE l.product_id = i AND l.is_active)
                 ORDER BY i LIMIT 1),
               (SELECT jsonb_agg(jsonb_build_object('product_id', l.product_id, 'name', l.name,
                                                    'requested', l.quantity,
                                                    'available', l.stock)
                                 ORDER BY l.line_no)
                  FROM unnest(v_lines) l WHERE l.stock < l.quantity),
               (SELECT sum(l.unit_price * l.quantity) FROM unnest(v_lines) l)
          INTO v_missing, v_short, v_total;
        IF v_missing IS NOT NULL THEN
            PERFORM public.ledger_refuse('SC003', 'product not found',
                                  jsonb_build_object('entity', 'product', 'id', v_missing));
        END IF;
        IF v_short IS NOT NULL THEN
            PERFORM public.ledger_refuse('SC001', 'insufficient stock',
                                  (v_short -> 0) || jsonb_build_object('lines', v_short));
        END IF;
    END IF;
    IF v_total <= 0 THEN
        PERFORM public.ledger_refuse('SC004', 'a sale must come to more than zero', '{"field": "items"}');
    END IF;
    IF v_balance + v_total <= v_limit THEN
        v_override := NULL;  -- within the limit: there is nothing to override
    ELSIF v_override IS NULL THEN
        PERFORM public.ledger_refuse('SC002', 'credit limit exceeded',
                              jsonb_build_object('available_credit', greatest(v_limit - v_balance, 0),
                                                 'total', v_total));
    ELSIF NOT EXISTS (SELECT FROM public.users u
                       WHERE u.business_id = v_business AND u.id = p_user_id
                         AND u.role = 'owner' AND u.is_active) THEN
        PERFORM public.ledger_refuse('SC008', 'only an owner can go over the credit limit',
                              '{"reason": "owner_only"}');
    END IF;

    -- 5. Write, in one statement: its lines at today's prices, stock and its history, the
    -- balance, what the business is owed on that due date (due in the business's credit days,
    -- counted from today in its timezone), and last the order with the shop's next sale number.
    -- Every part hangs off `ok`, the user (active) and token (if any) found, so an unknown or
    -- inactive user, or an unknown token, writes nothing.
    -- The counter is the last lock (the shop's tills queue on it from then to their commit): the
    -- order's INSERT is the main statement and reads every other part's rows before its row is
    -- made, so next_number runs after all of them. (The foreign keys are checked at the end of
    -- the statement, after it: they cannot come before the order they point to.)
    v_order := gen_random_uuid();
    WITH ok AS (
        SELECT (now() AT TIME ZONE b.timezone)::date + b.credit_days AS due_on
          FROM public.businesses b
          JOIN public.users u ON u.business_id = b.id AND u.id = p_user_id AND u.is_active
         WHERE b.id = v_business
           AND (p_api_token_id IS NULL
                OR EXISTS (SELECT FROM public.api_tokens t
                            WHERE t.business_id = v_business AND t.id = p_api_token_id))
    ), items AS (
        INSERT INTO public.order_items (business_id, order_id, product_id, quantity, unit_price,
                                 line_no)
        SELECT v_business, v_order, l.product_id, l.quantity, l.unit_price, l.line_no
          FROM ok, unnest(v_lines) l
        RETURNING 1
    ), stock AS (
        UPDATE public.products p SET stock = p.stock - l.quantity
          FROM ok, unnest(v_lines) l
         WHERE p.business_id = v_business AND p.id = l.product_id
        RETURNING 1
    ), movements AS (
        INSERT INTO public.stock_movements (business_id, product_id, change, reason, resulting_stock,
                                     order_id, created_by)
        SELECT v_business, l.product_id, -l.quantity, 'sale', l.stock - l.quantity, v_order,
               p_user_id
          FROM ok, unnest(v_lines) l
        RETURNING 1
    ), balance AS (
        UPDATE public.customers c
           SET balance = c.balance + v_total,
               oldest_open_due_on = least(c.oldest_open_due_on, ok.due_on)
          FROM ok
         WHERE c.business_id = v_business AND c.id = p_customer_id
        RETURNING 1
    ), dues AS (
        INSERT INTO public.open_dues AS d (business_id, due_on, shard, owed)
        SELECT v_business, ok.due_on, public.due_shard(p_customer_id), v_total FROM ok
        ON CONFLICT ON CONSTRAINT open_dues_pkey DO UPDATE SET owed = d.owed + excluded.owed
        RETURNING 1
    )
    INSERT INTO public.orders (business_id, id, customer_id, total, due_on, created_by,
                               api_token_id, idempotency_key, balance_after, note, request_hash,
                               credit_limit, override_reason, number)
    SELECT v_business, v_order, p_customer_id, v_total, ok.due_on, p_user_id, p_api_token_id,
           p_idempotency_key, v_balance + v_total, v_note, v_hash, v_limit, v_override,
           public.next_number(v_business, 'sale')
      FROM ok
     -- Read to the end before the row is made: every other part has been written by then.
     WHERE (SELECT count(*) FROM items) + (SELECT count(*) FROM stock)
           + (SELECT count(*) FROM movements) + (SELECT count(*) FROM balance)
           + (SELECT count(*) FROM dues) >= 0
    RETURNING orders.id, orders.due_on, orders.number INTO order_id, due_on, number;
    IF order_id IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'unknown or inactive user, or unknown API token',
                              '{"field": "user_id"}');
    END IF;
    -- 6. The reports' rollups, after the counter (README's lock order): the sale's lines (or
    -- its amount, as the nil product) on today's row of each product, whose locks this sale
    -- holds, and the day's totals; then what is owed on its due date.
    IF v_quick THEN
        PERFORM public.report_sales(v_business, NULL, ARRAY[
                                        '00000000-0000-0000-0000-000000000000'::uuid],
                                    ARRAY[0], ARRAY[v_total], false);
    ELSE
        PERFORM public.report_sales(v_business, NULL,
                                    ARRAY(SELECT l.product_id FROM unnest(v_lines) l),
                                    ARRAY(SELECT l.quantity FROM unnest(v_lines) l),
                                    ARRAY(SELECT l.quantity * l.unit_price
                                            FROM unnest(v_lines) l),
                                    false);
    END IF;
    PERFORM public.report_owed(v_business, NULL, ARRAY[due_on], ARRAY[v_total]);
    IF v_override IS NOT NULL THEN
        INSERT INTO public.activity_log (business_id, user_id, api_token_id, kind, summary,
                                         before, after, reason, customer_id, order_id)
        VALUES (v_business, p_user_id, p_api_token_id, 'override',
                format('Sale %s recorded over the credit limit', number),
                jsonb_build_object('balance', v_balance, 'credit_limit', v_limit),
                jsonb_build_object('balance', v_balance + v_total, 'total', v_total),
                v_override, p_customer_id, order_id);
    END IF;
    created := true;
    total := v_total;
    balance_after := v_balance + v_total;
    overridden := v_override IS NOT NULL;
END
$$;

REVOKE ALL ON FUNCTION process_purchase(uuid, uuid, jsonb, uuid, uuid, uuid, numeric, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION process_purchase(uuid, uuid, jsonb, uuid, uuid, uuid, numeric, text, text)
    TO shopcredit_app;

-- The signature before the override (0005–0014), kept answering app servers of the previous
-- release while an upgrade rolls out. Its parameters all count (no defaults on the new one), so
-- no call can be ambiguous between the two.
CREATE OR REPLACE FUNCTION process_purchase(
    p_business_id     uuid,
    p_customer_id     uuid,
    p_items           jsonb,
    p_idempotency_key uuid,
    p_user_id         uuid,
    p_api_token_id    uuid DEFAULT NULL,
    p_amount          numeric DEFAULT NULL,
    p_note            text DEFAULT NULL,
    OUT order_id      uuid,
    OUT created       boolean,
    OUT total         numeric,
    OUT balance_after numeric,
    OUT due_on        date
)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.order_id, p.created, p.total, p.balance_after, p.due_on
      FROM public.process_purchase(p_business_id, p_customer_id, p_items, p_idempotency_key,
                                   p_user_id, p_api_token_id, p_amount, p_note, NULL::text) p
$$;

REVOKE ALL ON FUNCTION process_purchase(uuid, uuid, jsonb, uuid, uuid, uuid, numeric, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION process_purchase(uuid, uuid, jsonb, uuid, uuid, uuid, numeric, text)
    TO shopcredit_app;
