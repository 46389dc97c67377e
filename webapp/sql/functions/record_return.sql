-- record_return(business, sale, items, amount, void, reason, refund method, idempotency key,
-- user, API token): goods (or, for a sale without items, an amount) taken back from one sale,
-- all or nothing, as a numbered return. With p_void, everything still unreturned on the sale.
--
-- What the return is worth (the goods at the price they were sold at, or the amount) first
-- lowers what is still owed on that sale. What goes beyond it was already paid: that much of
-- the sale's allocations comes off it (the latest payment's first), pays the customer's other
-- open sales (oldest due first, as a payment does), and what is left is refunded, which needs
-- p_refund_method. Stock comes back, with a 'return' line in each product's history. The
-- sale's total and lines stay as they were; what it owes is total − returned − paid.
--
-- Who may: an owner, any sale, any time; a clerk only their own sale, on the day it was made
-- and within the shop's clerk_correction_minutes. The user is the token's maker for the API.
--
-- The business is the one bound to the transaction, as for the other ledger functions.
-- Lock order, the global one: the customer, then the sale's products in one statement ordered
-- by id, then the open_dues rows of the customer's open sales' due dates in date order, then
-- the shop's return counter, and after it the reports' rollup rows (sales_by_day,
-- sales_by_month, sales_totals_by_day, owed_by_day in due-date order, collections_by_day).
--
-- Refusals, with a JSON DETAIL:
--   SC003 not found                {"entity": "business"|"sale", "id"}
--   SC004 invalid input            {"field", "line"?, "refund"?}
--   SC007 idempotency key reused   {"return_id"}
--   SC008 not permitted            {"reason": "not_own_sale"|"too_late", "minutes"}
--   SC009 nothing left to return   {"order_id"}
--   SC010 more than is returnable  {"product_id", "returnable", "requested", "lines"}
--                                  (lines: every such product) or, for an amount,
--                                  {"field": "amount", "returnable"}

CREATE OR REPLACE FUNCTION record_return(
    p_business_id     uuid,
    p_order_id        uuid,
    p_items           jsonb,    -- [{"product_id", "quantity"}], or NULL
    p_amount          numeric,  -- for a sale without items, or NULL
    p_void            boolean,  -- everything still unreturned (then neither items nor amount)
    p_reason          text,
    p_refund_method   text,     -- how money goes back, when some does
    p_idempotency_key uuid,
    p_user_id         uuid,
    p_api_token_id    uuid,
    OUT return_id     uuid,
    OUT created       boolean,  -- false: the key named a return already recorded
    OUT number        bigint,
    OUT amount        numeric,
    OUT refund        numeric,
    OUT balance_after numeric,
    OUT order_number  bigint
)
LANGUAGE plpgsql
-- As the tables' owner, like the other ledger functions (migration 0011): every statement
-- names the business bound to the transaction and every name is schema-qualified.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_business   uuid := public.current_business_id();
    v_reason     text := btrim(coalesce(p_reason, ''));
    v_void       boolean := coalesce(p_void, false);
    v_has_items  boolean := p_items IS NOT NULL AND p_items <> '[]'::jsonb;
    v_existing   public.returns;
    v_order      public.orders;
    v_hash       uuid;
    v_ids        uuid[];
    v_qtys       integer[];
    v_prices     numeric[];
    v_bad_line   bigint;
    v_over       jsonb;
    v_role       text;
    v_minutes    integer;
    v_timezone   text;
    v_sold_items boolean;
    v_left       numeric;
    v_value      numeric;
    v_balance    numeric;
    v_reduce     numeric;   -- what this sale owes less
    v_excess     numeric;   -- what was paid on it beyond its new total
    v_applied    numeric := 0;  -- of the excess, what paid other sales
    v_refund     numeric := 0;
    v_pool_ids   uuid[] := '{}';
    v_pool_left  numeric[] := '{}';
    v_take       numeric;
    v_give       numeric;
    i            integer;
    r            record;
    v_owed_dues    date[] := '{}';   -- what each sale's due date owes less (the reports)
    v_owed_changes numeric[] := '{}';
BEGIN
    -- 0. The business named is the one bound to this transaction (the bound one decides).
    IF v_business IS NULL OR p_business_id IS DISTINCT FROM v_business THEN
        PERFORM public.ledger_refuse('SC003', 'business not found',
                              jsonb_build_object('entity', 'business', 'id', p_business_id));
    END IF;

    -- 1. Input, checked before anything is read.
    IF p_order_id IS NULL THEN
        PERFORM public.ledger_refuse('SC003', 'sale not found',
                              jsonb_build_object('entity', 'sale', 'id', p_order_id));
    END IF;
    IF p_idempotency_key IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'an idempotency key is required',
                              '{"field": "idempotency_key"}');
    END IF;
    IF v_reason = '' THEN
        PERFORM public.ledger_refuse('SC004', 'say why', '{"field": "reason"}');
    END IF;
    IF length(v_reason) > 500 THEN
        PERFORM public.ledger_refuse('SC004', 'the reason can be at most 500 characters',
                              '{"field": "reason"}');
    END IF;
    IF p_refund_method IS NOT NULL
       AND p_refund_method NOT IN ('cash', 'card', 'bank_transfer', 'mobile_money', 'other') THEN
        PERFORM public.ledger_refuse('SC004', 'choose how the money is refunded',
                              '{"field": "refund_method"}');
    END IF;
    IF v_void AND (v_has_items OR p_amount IS NOT NULL) THEN
        PERFORM public.ledger_refuse('SC004', 'a void takes back everything: give no items or amount',
                              '{"field": "items"}');
    END IF;
    IF NOT v_void AND v_has_items = (p_amount IS NOT NULL) THEN
        PERFORM public.ledger_refuse('SC004', 'give either the items to return or an amount',
                              '{"field": "items"}');
    END IF;
    IF p_amount IS NOT NULL AND (p_amount <= 0 OR p_amount <> round(p_amount, 2)
                                 OR p_amount > 9999999999.99) THEN
        PERFORM public.ledger_refuse('SC004',
                              'the amount must be more than zero, with at most two decimals',
                              '{"field": "amount"}');
    END IF;
    IF v_has_items THEN
        IF jsonb_typeof(p_items) <> 'array' OR jsonb_array_length(p_items) > 500 THEN
            PERFORM public.ledger_refuse('SC004', 'give the items as a list of at most 500',
                                  '{"field": "items"}');
        END IF;
        SELECT min(line) INTO v_bad_line
          FROM jsonb_array_elements(p_items) WITH ORDINALITY AS x(item, line)
         WHERE CASE
                   WHEN jsonb_typeof(item) <> 'object'
                        OR jsonb_typeof(item -> 'product_id') IS DISTINCT FROM 'string'
                        OR NOT (item ->> 'product_id')
                               ~* '^[0-9a-f]{8}(-?[0-9a-f]{4}){3}-?[0-9a-f]{12}$'
                        OR jsonb_typeof(item -> 'quantity') IS DISTINCT FROM 'number'
                       THEN true
                   ELSE (item ->> 'quantity')::numeric NOT BETWEEN 1 AND 100000
                        OR (item ->> 'quantity')::numeric % 1 <> 0
               END;
        IF v_bad_line IS NOT NULL THEN
            PERFORM public.ledger_refuse('SC004',
                                  'each item needs a product and a whole quantity from 1 to 100000',
                                  jsonb_build_object('field', 'items', 'line', v_bad_line));
        END IF;
        SELECT array_agg(m.product_id ORDER BY m.product_id),
               array_agg(m.quantity ORDER BY m.product_id)
          INTO v_ids, v_qtys
          FROM (SELECT (item ->> 'product_id')::uuid AS product_id,
                       sum((item ->> 'quantity')::numeric)::integer AS quantity
                  FROM jsonb_array_elements(p_items) AS x(item)
                 GROUP BY 1) m;
    END IF;
    v_hash := md5(jsonb_build_object('order', p_order_id, 'void', v_void,
                                     'products', to_jsonb(v_ids), 'quantities', to_jsonb(v_qtys),
                                     'amount', round(p_amount, 2), 'reason', v_reason,
                                     'refund_method', p_refund_method)::text)::uuid;

    -- 2. A key seen before: that return again, and nothing changes.
    SELECT * INTO v_existing FROM public.returns x
     WHERE x.business_id = v_business AND x.idempotency_key = p_idempotency_key;
    IF v_existing.id IS NULL THEN
        SELECT * INTO v_order FROM public.orders o
         WHERE o.business_id = v_business AND o.id = p_order_id;
        IF NOT FOUND THEN
            PERFORM public.ledger_refuse('SC003', 'sale not found',
                                  jsonb_build_object('entity', 'sale', 'id', p_order_id));
        END IF;
        -- 3. The customer's lock; then the key again (another till may have just committed
        -- this very return) and the sale as it is now.
        SELECT c.balance INTO v_balance FROM public.customers c
         WHERE c.business_id = v_business AND c.id = v_order.customer_id
           FOR NO KEY UPDATE;
        SELECT * INTO v_existing FROM public.returns x
         WHERE x.business_id = v_business AND x.idempotency_key = p_idempotency_key;
    END IF;
    IF v_existing.id IS NOT NULL THEN
        IF v_existing.request_hash <> v_hash THEN
            PERFORM public.ledger_refuse('SC007',
                                  'this idempotency key was used for a different request',
                                  jsonb_build_object('return_id', v_existing.id));
        END IF;
        SELECT v_existing.id, false, v_existing.number, v_existing.amount, v_existing.refund,
               v_existing.balance_after, o.number
          INTO return_id, created, number, amount, refund, balance_after, order_number
          FROM public.orders o
         WHERE o.business_id = v_business AND o.id = v_existing.order_id;
        RETURN;
    END IF;
    SELECT * INTO v_order FROM public.orders o
     WHERE o.business_id = v_business AND o.id = p_order_id;

    -- 4. Who may.
    SELECT u.role, b.clerk_correction_minutes, b.timezone INTO v_role, v_minutes, v_timezone
      FROM public.users u JOIN public.businesses b ON b.id = u.business_id
     WHERE u.business_id = v_business AND u.id = p_user_id AND u.is_active
       AND (p_api_token_id IS NULL
            OR EXISTS (SELECT FROM public.api_tokens t
                        WHERE t.business_id = v_business AND t.id = p_api_token_id));
    IF v_role IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'unknown or inactive user, or unknown API token',
                              '{"field": "user_id"}');
    END IF;
    IF v_role <> 'owner' THEN
        IF v_order.created_by <> p_user_id THEN
            PERFORM public.ledger_refuse('SC008', 'a clerk can correct only their own sales',
                                  jsonb_build_object('reason', 'not_own_sale',
                                                     'minutes', v_minutes));
        END IF;
        IF (v_order.created_at AT TIME ZONE v_timezone)::date <> (now() AT TIME ZONE v_timezone)::date
           OR now() - v_order.created_at > make_interval(mins => v_minutes) THEN
            PERFORM public.ledger_refuse('SC008',
                                  format('a clerk can correct a sale only within %s minutes of '
                                         'making it, on the same day: ask an owner', v_minutes),
                                  jsonb_build_object('reason', 'too_late', 'minutes', v_minutes));
        END IF;
    END IF;

    -- 5. What comes back, and what it is worth.
    v_sold_items := EXISTS (SELECT FROM public.order_items i
                             WHERE i.business_id = v_business AND i.order_id = p_order_id);
    IF v_sold_items THEN
        IF p_amount IS NOT NULL THEN
            PERFORM public.ledger_refuse('SC004', 'this sale has items: choose the items to return',
                                  '{"field": "amount"}');
        END IF;
        -- Each product sold, with what of it is still unreturned; then what this return asks
        -- for (or, for a void, all of that), in product id order (the lock order).
        WITH sold AS (
            SELECT i.product_id, i.unit_price,
                   i.quantity - coalesce((SELECT sum(ri.quantity)
                                            FROM public.return_items ri
                                            JOIN public.returns x ON x.business_id = ri.business_id
                                                                 AND x.id = ri.return_id
                                           WHERE ri.business_id = v_business
                                             AND x.order_id = p_order_id
                                             AND ri.product_id = i.product_id), 0) AS returnable
              FROM public.order_items i
             WHERE i.business_id = v_business AND i.order_id = p_order_id
        ), asked AS (
            SELECT * FROM unnest(v_ids, v_qtys) AS l(product_id, quantity)
        )
        SELECT (SELECT jsonb_agg(jsonb_build_object('product_id', a.product_id,
                                                    'returnable', coalesce(s.returnable, 0),
                                                    'requested', a.quantity)
                                 ORDER BY a.product_id)
                  FROM asked a LEFT JOIN sold s ON s.product_id = a.product_id
                 WHERE a.quantity > coalesce(s.returnable, 0)),
               array_agg(x.product_id ORDER BY x.product_id),
               array_agg(x.quantity ORDER BY x.product_id),
               array_agg(x.unit_price ORDER BY x.product_id)
          INTO v_over, v_ids, v_qtys, v_prices
          FROM (SELECT s.product_id, s.unit_price,
                       CASE WHEN v_void THEN s.returnable ELSE a.quantity END AS quantity
                  FROM sold s LEFT JOIN asked a ON a.product_id = s.product_id) x
         WHERE x.quantity > 0;
        IF v_over IS NOT NULL THEN
            PERFORM public.ledger_refuse('SC010', 'quantity exceeds what was sold',
                                  (v_over -> 0) || jsonb_build_object('lines', v_over));
        END IF;
        IF v_ids IS NULL THEN
            PERFORM public.ledger_refuse('SC009', 'nothing left to return',
                                  jsonb_build_object('order_id', p_order_id));
        END IF;
        SELECT sum(l.quantity * l.unit_price) INTO v_value
          FROM unnest(v_qtys, v_prices) AS l(quantity, unit_price);
        -- The products, locked in id order (their stock goes back up).
        PERFORM 1 FROM public.products p
         WHERE p.business_id = v_business AND p.id = ANY (v_ids)
         ORDER BY p.id
           FOR NO KEY UPDATE;
    ELSE
        IF v_has_items THEN
            PERFORM public.ledger_refuse('SC004', 'this sale has no items: give an amount',
                                  '{"field": "items"}');
        END IF;
        v_left := v_order.total - v_order.returned;
        IF v_left = 0 THEN
            PERFORM public.ledger_refuse('SC009', 'nothing left to return',
                                  jsonb_build_object('order_id', p_order_id));
        END IF;
        IF p_amount > v_left THEN
            PERFORM public.ledger_refuse('SC010', 'the amount is more than is left on the sale',
                                  jsonb_build_object('field', 'amount', 'returnable', v_left));
        END IF;
        v_value := coalesce(p_amount, v_left);
    END IF;

    -- 6. The amounts owed on the customer's open sales' due dates, in date order.
    PERFORM 1 FROM public.open_dues d
      WHERE d.business_id = v_business AND d.shard = public.due_shard(v_order.customer_id)
        AND d.due_on IN (SELECT o.due_on FROM public.orders o
                          WHERE o.business_id = v_business AND o.customer_id = v_order.customer_id
                            AND o.paid + o.returned < o.total)
      ORDER BY d.due_on
        FOR NO KEY UPDATE;

    -- 7. The money: this sale owes less; what it had been paid beyond its new total comes off
    -- its allocations (latest payment first) into a pool that pays other sales, then refunds.
    v_reduce := least(v_value, v_order.total - v_order.returned - v_order.paid);
    v_excess := v_value - v_reduce;
    UPDATE public.orders o SET returned = o.returned + v_value, paid = o.paid - v_excess
     WHERE o.business_id = v_business AND o.id = p_order_id;
    IF v_reduce > 0 THEN
        v_owed_dues := v_owed_dues || v_order.due_on;
        v_owed_changes := v_owed_changes || -v_reduce;
        UPDATE public.open_dues d SET owed = d.owed - v_reduce
         WHERE d.business_id = v_business AND d.due_on = v_order.due_on
           AND d.shard = public.due_shard(v_order.customer_id);
    END IF;
    IF v_excess > 0 THEN
        v_take := v_excess;
        FOR r IN SELECT a.payment_id, a.amount
                   FROM public.payment_allocations a
                   JOIN public.payments p ON p.business_id = a.business_id AND p.id = a.payment_id
                  WHERE a.business_id = v_business AND a.order_id = p_order_id
                    AND NOT EXISTS (SELECT FROM public.payment_reversals v
                                     WHERE v.business_id = a.business_id
                                       AND v.payment_id = a.payment_id)
                  ORDER BY p.created_at DESC, p.id DESC
        LOOP
            EXIT WHEN v_take = 0;
            v_give := least(r.amount, v_take);
            IF v_give = r.amount THEN
                DELETE FROM public.payment_allocations a
                 WHERE a.business_id = v_business AND a.payment_id = r.payment_id
                   AND a.order_id = p_order_id;
            ELSE
                UPDATE public.payment_allocations a SET amount = a.amount - v_give
                 WHERE a.business_id = v_business AND a.payment_id = r.payment_id
                   AND a.order_id = p_order_id;
            END IF;
            v_pool_ids := v_pool_ids || r.payment_id;
            v_pool_left := v_pool_left || v_give;
            v_take := v_take - v_give;
        END LOOP;
        IF v_take <> 0 THEN
            RAISE EXCEPTION 'sale % was paid % but its allocations come to less', p_order_id,
                            v_order.paid USING ERRCODE = 'XX000';
        END IF;

        -- The pool pays the customer's other open sales, oldest due first.
        i := 1;
        FOR r IN SELECT o.id, o.due_on, o.total - o.returned - o.paid AS owed
                   FROM public.orders o
                  WHERE o.business_id = v_business AND o.customer_id = v_order.customer_id
                    AND o.paid + o.returned < o.total AND o.id <> p_order_id
                  ORDER BY o.due_on, o.created_at, o.id
        LOOP
            EXIT WHEN i > array_length(v_pool_ids, 1);
            v_take := r.owed;
            WHILE v_take > 0 AND i <= array_length(v_pool_ids, 1) LOOP
                v_give := least(v_take, v_pool_left[i]);
                INSERT INTO public.payment_allocations AS a (business_id, payment_id, order_id,
                                                             amount)
                VALUES (v_business, v_pool_ids[i], r.id, v_give)
                ON CONFLICT (business_id, payment_id, order_id)
                DO UPDATE SET amount = a.amount + excluded.amount;
                v_pool_left[i] := v_pool_left[i] - v_give;
                v_take := v_take - v_give;
                IF v_pool_left[i] = 0 THEN
                    i := i + 1;
                END IF;
            END LOOP;
            v_give := r.owed - v_take;
            v_owed_dues := v_owed_dues || r.due_on;
            v_owed_changes := v_owed_changes || -v_give;
            UPDATE public.orders o SET paid = o.paid + v_give
             WHERE o.business_id = v_business AND o.id = r.id;
            UPDATE public.open_dues d SET owed = d.owed - v_give
             WHERE d.business_id = v_business AND d.due_on = r.due_on
               AND d.shard = public.due_shard(v_order.customer_id);
            v_applied := v_applied + v_give;
        END LOOP;
        v_refund := v_excess - v_applied;
    END IF;
    IF v_refund > 0 AND p_refund_method IS NULL THEN
        PERFORM public.ledger_refuse('SC004',
                              format('this return refunds %s: choose how the money goes back',
                                     v_refund),
                              jsonb_build_object('field', 'refund_method', 'refund', v_refund));
    END IF;

    UPDATE public.customers c
       SET balance = c.balance - v_reduce - v_applied,
           oldest_open_due_on = (SELECT min(o.due_on) FROM public.orders o
                                  WHERE o.business_id = v_business AND o.customer_id = c.id
                                    AND o.paid + o.returned < o.total)
     WHERE c.business_id = v_business AND c.id = v_order.customer_id;

    -- 8. The return, numbered last, and everything that hangs off it.
    INSERT INTO public.returns (business_id, number, order_id, customer_id, is_void, amount,
                                refund, refund_method, reason, created_by, api_token_id,
                                idempotency_key, request_hash, balance_after)
    VALUES (v_business, public.next_number(v_business, 'return'), p_order_id,
            v_order.customer_id, v_void, v_value, v_refund,
            CASE WHEN v_refund > 0 THEN p_refund_method END, v_reason, p_user_id,
            p_api_token_id, p_idempotency_key, v_hash, v_balance - v_reduce - v_applied)
    RETURNING returns.id, returns.number INTO return_id, number;

    IF v_sold_items THEN
        INSERT INTO public.return_items (business_id, return_id, product_id, quantity, unit_price)
        SELECT v_business, return_id, l.product_id, l.quantity, l.unit_price
          FROM unnest(v_ids, v_qtys, v_prices) AS l(product_id, quantity, unit_price);
        WITH stock AS (
            UPDATE public.products p SET stock = p.stock + l.quantity
              FROM unnest(v_ids, v_qtys) AS l(product_id, quantity)
             WHERE p.business_id = v_business AND p.id = l.product_id
            RETURNING p.id, l.quantity, p.stock
        )
        INSERT INTO public.stock_movements (business_id, product_id, change, reason,
                                            resulting_stock, order_id, return_id, created_by)
        SELECT v_business, s.id, s.quantity, 'return', s.stock, p_order_id, return_id, p_user_id
          FROM stock s;
    END IF;
    -- The reports' rollups, after the counter (README's lock order): the goods (or amount)
    -- back on today's rows of their products (whose locks this return holds) and the day's
    -- totals, unless the sale was an opening balance; what is owed less on each due date, in
    -- date order; the refund by its method.
    IF NOT v_order.is_opening_balance THEN
        IF v_sold_items THEN
            PERFORM public.report_sales(v_business, NULL, v_ids, v_qtys,
                                        ARRAY(SELECT l.quantity * l.unit_price
                                                FROM unnest(v_qtys, v_prices)
                                                     AS l(quantity, unit_price)),
                                        true);
        ELSE
            PERFORM public.report_sales(v_business, NULL, ARRAY[
                                            '00000000-0000-0000-0000-000000000000'::uuid],
                                        ARRAY[0], ARRAY[v_value], true);
        END IF;
    END IF;
    PERFORM public.report_owed(v_business, NULL, v_owed_dues, v_owed_changes);
    IF v_refund > 0 THEN
        PERFORM public.report_collections(v_business, NULL, p_refund_method, 0, 0, v_refund);
    END IF;
    IF v_refund > 0 THEN
        INSERT INTO public.refund_sources (business_id, return_id, payment_id, amount)
        SELECT v_business, return_id, p.payment_id, sum(p.amount)
          FROM unnest(v_pool_ids, v_pool_left) AS p(payment_id, amount)
         WHERE p.amount > 0
         GROUP BY p.payment_id;
    END IF;
    INSERT INTO public.activity_log (business_id, user_id, api_token_id, kind, summary, before,
                                     after, reason, customer_id, order_id, return_id)
    SELECT v_business, p_user_id, p_api_token_id, k.kind, k.summary,
           jsonb_build_object('balance', v_balance, 'returned', v_order.returned),
           jsonb_build_object('balance', v_balance - v_reduce - v_applied,
                              'returned', v_order.returned + v_value, 'refund', v_refund),
           v_reason, v_order.customer_id, p_order_id, return_id
      FROM (VALUES (CASE WHEN v_void THEN 'void' ELSE 'return' END,
                    format('%s %s of sale %s: %s', CASE WHEN v_void THEN 'Void' ELSE 'Return' END,
                           number, v_order.number, v_value)),
                   ('refund', format('Refund of %s on return %s (%s)', v_refund, number,
                                     replace(p_refund_method, '_', ' ')))) AS k(kind, summary)
     WHERE k.kind <> 'refund' OR v_refund > 0;

    created := true;
    amount := v_value;
    refund := v_refund::numeric(12, 2);
    balance_after := v_balance - v_reduce - v_applied;
    order_number := v_order.number;
END
$$;

REVOKE ALL ON FUNCTION record_return(uuid, uuid, jsonb, numeric, boolean, text, text, uuid, uuid,
                                     uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_return(uuid, uuid, jsonb, numeric, boolean, text, text, uuid,
                                        uuid, uuid) TO shopcredit_app;
