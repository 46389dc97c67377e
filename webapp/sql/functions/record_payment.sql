-- record_payment(business, customer, amount, method, note, idempotency key, user, sale, API
-- token): money a customer paid, applied to their open sales, all or nothing. Returns the
-- payment, whether this call recorded it, the balance after it, its number (the shop's next
-- payment number, taken last), and its allocations: a JSON
-- array of {"order_id", "amount"} by the sales' due date, date made and id (as the receipt
-- lists them). A key seen before returns that payment as recorded, its allocations alike.
--
-- The business is the one bound to the transaction (app.business_id): that binding is the
-- authority. p_business_id must name the same business (a distributed PostgreSQL, Citus, routes
-- each call by it); any other, or none bound, is refused before anything is read. Every
-- statement names the business, as in process_purchase.
-- Locks the customer (the global order: customer first; a sale then takes its products), then
-- the open_dues rows of the customer's open sales' due dates in date order, then updates the
-- customer's own sales (which only payments, returns and reversals change, and only under the
-- customer's lock), and last the shop's payment counter; after it, the reports' rollup rows
-- (owed_by_day in due-date order, then collections_by_day). The
-- amount goes to the sale named, if any, and the rest to open sales oldest due date first (then
-- oldest made).
--
-- Refusals, as for sales, with a JSON DETAIL:
--   SC003 not found                {"entity": "business"|"customer"|"sale", "id"}
--                                  (business: p_business_id is not the bound business)
--   SC004 invalid input            {"field", "reason"}
--   SC005 payment exceeds balance  {"balance"}
--   SC007 idempotency key reused   {"payment_id"}   (the key made a payment of another request:
--                                  another customer, amount, method, note or sale named)

CREATE OR REPLACE FUNCTION record_payment(
    p_business_id     uuid,
    p_customer_id     uuid,
    p_amount          numeric,
    p_method          text,
    p_note            text,
    p_idempotency_key uuid,
    p_user_id         uuid,
    p_order_id        uuid DEFAULT NULL,
    p_api_token_id    uuid DEFAULT NULL,
    OUT payment_id    uuid,
    OUT created       boolean,  -- false: the key named a payment already recorded
    OUT balance_after numeric,
    OUT allocations   jsonb,    -- [{"order_id", "amount"}], by due date, date made, id
    OUT number        bigint
)
LANGUAGE plpgsql
-- As the tables' owner: the app role may not write balances, stock or what is paid itself
-- (migration 0011). Row-level security does not hold the owner, so every statement here names
-- the business bound to the transaction, and every name is schema-qualified.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_business  uuid := public.current_business_id();
    v_existing  public.payments;
    v_hash      uuid := md5(jsonb_build_object('customer', p_customer_id,
                                               'amount', round(p_amount, 2),
                                               'method', p_method, 'note', coalesce(p_note, ''),
                                               'order', p_order_id)::text)::uuid;
    v_balance   numeric;
    v_named     public.orders;
    v_allocated numeric;
    v_dues_rows bigint;
    v_due_dates bigint;
    v_owed_dues    date[];
    v_owed_changes numeric[];
BEGIN
    -- 0. The business named is the one bound to this transaction (the bound one decides).
    IF v_business IS NULL OR p_business_id IS DISTINCT FROM v_business THEN
        PERFORM public.ledger_refuse('SC003', 'business not found',
                              jsonb_build_object('entity', 'business', 'id', p_business_id));
    END IF;

    -- 1. Input.
    IF p_customer_id IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'choose a customer', '{"field": "customer_id"}');
    END IF;
    IF p_amount IS NULL OR p_amount <= 0 THEN
        PERFORM public.ledger_refuse('SC004', 'the amount must be more than zero', '{"field": "amount"}');
    END IF;
    IF p_amount <> round(p_amount, 2) THEN
        PERFORM public.ledger_refuse('SC004', 'the amount can have at most two decimals',
                              '{"field": "amount"}');
    END IF;
    IF p_amount > 9999999999.99 THEN
        PERFORM public.ledger_refuse('SC004', 'the amount is too large', '{"field": "amount"}');
    END IF;
    IF p_method IS NULL
       OR p_method NOT IN ('cash', 'card', 'bank_transfer', 'mobile_money', 'other') THEN
        PERFORM public.ledger_refuse('SC004', 'choose how it was paid', '{"field": "method"}');
    END IF;
    IF length(coalesce(p_note, '')) > 500 THEN
        PERFORM public.ledger_refuse('SC004', 'the note can be at most 500 characters',
                              '{"field": "note"}');
    END IF;
    IF p_idempotency_key IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'an idempotency key is required',
                              '{"field": "idempotency_key"}');
    END IF;

    -- 2. A key seen before: that payment again, and nothing changes.
    SELECT * INTO v_existing FROM public.payments p
     WHERE p.business_id = v_business AND p.idempotency_key = p_idempotency_key;
    IF v_existing.id IS NULL THEN
        -- 3. The one lock a payment takes.
        SELECT c.balance INTO v_balance FROM public.customers c
         WHERE c.business_id = v_business AND c.id = p_customer_id
           FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            PERFORM public.ledger_refuse('SC003', 'customer not found',
                                  jsonb_build_object('entity', 'customer', 'id', p_customer_id));
        END IF;
        -- The key again, under the customer's lock: another till may have just committed this
        -- very payment while we waited for that lock.
        SELECT * INTO v_existing FROM public.payments p
         WHERE p.business_id = v_business AND p.idempotency_key = p_idempotency_key;
    END IF;
    IF v_existing.id IS NOT NULL THEN
        IF v_existing.customer_id <> p_customer_id
           OR coalesce(v_existing.request_hash, v_hash) <> v_hash  -- (NULL: made before 0010)
        THEN
            PERFORM public.ledger_refuse('SC007',
                                  'this idempotency key was used for a different request',
                                  jsonb_build_object('payment_id', v_existing.id));
        END IF;
        SELECT v_existing.id, false, v_existing.balance_after, v_existing.number,
               coalesce(jsonb_agg(jsonb_build_object('order_id', a.order_id, 'amount', a.amount)
                                  ORDER BY o.due_on, o.created_at, o.id),
                        '[]')
          INTO payment_id, created, balance_after, number, allocations
          FROM public.payment_allocations a
          JOIN public.orders o ON o.business_id = a.business_id AND o.id = a.order_id
         WHERE a.business_id = v_business AND a.payment_id = v_existing.id;
        RETURN;
    END IF;

    -- 4. Never more than is owed, and a named sale must be this customer's and still open.
    IF p_amount > v_balance THEN
        PERFORM public.ledger_refuse('SC005', 'payment exceeds balance',
                              jsonb_build_object('balance', v_balance));
    END IF;
    IF p_order_id IS NOT NULL THEN
        SELECT * INTO v_named FROM public.orders o
         WHERE o.business_id = v_business AND o.id = p_order_id;
        IF NOT FOUND THEN
            PERFORM public.ledger_refuse('SC003', 'sale not found',
                                  jsonb_build_object('entity', 'sale', 'id', p_order_id));
        END IF;
        IF v_named.customer_id <> p_customer_id THEN
            PERFORM public.ledger_refuse('SC004', 'that sale belongs to another customer',
                                  '{"field": "order_id", "reason": "other_customer"}');
        END IF;
        IF v_named.paid + v_named.returned >= v_named.total THEN
            PERFORM public.ledger_refuse('SC004', 'that sale is already paid',
                                  '{"field": "order_id", "reason": "already_paid"}');
        END IF;
    END IF;

    -- Then the rows of what the business is owed on those sales' due dates, in date order:
    -- another payment of a customer in the same shard takes them in the same order, and a sale
    -- takes only one such row, last.
    PERFORM 1
       FROM public.open_dues d
      WHERE d.business_id = v_business AND d.shard = public.due_shard(p_customer_id)
        AND d.due_on IN (SELECT o.due_on FROM public.orders o
                          WHERE o.business_id = v_business AND o.customer_id = p_customer_id
                            AND o.paid + o.returned < o.total)
      ORDER BY d.due_on
        FOR NO KEY UPDATE;

    -- 5. Write, in one statement: the payment, how it was applied, the sales, the balance,
    -- and what the business is owed on those due dates.
    WITH new_payment AS (
        INSERT INTO public.payments (business_id, customer_id, amount, method, note, created_by,
                              api_token_id, idempotency_key, balance_after, request_hash, number)
        SELECT v_business, p_customer_id, p_amount, p_method, coalesce(p_note, ''), u.id,
               p_api_token_id, p_idempotency_key, v_balance - p_amount, v_hash,
               public.next_number(v_business, 'payment')
          FROM public.users u
         WHERE u.business_id = v_business AND u.id = p_user_id AND u.is_active
           AND (p_api_token_id IS NULL
                OR EXISTS (SELECT FROM public.api_tokens t
                            WHERE t.business_id = v_business AND t.id = p_api_token_id))
        RETURNING id, payments.number
    ), open_sales AS (
        -- In the order a payment is applied: the named sale first, then oldest due first.
        SELECT o.id, o.due_on, o.total - o.returned - o.paid AS owed,
               sum(o.total - o.returned - o.paid) OVER applied
                   - (o.total - o.returned - o.paid) AS owed_before,
               row_number() OVER (ORDER BY o.due_on, o.created_at, o.id) AS listed
          FROM public.orders o
         WHERE o.business_id = v_business AND o.customer_id = p_customer_id
           AND o.paid + o.returned < o.total
        WINDOW applied AS (ORDER BY o.id IS DISTINCT FROM p_order_id, o.due_on, o.created_at,
                                    o.id)
    ), shares AS (
        SELECT s.id AS order_id, s.due_on, s.listed,
               least(s.owed, p_amount - s.owed_before) AS amount
          FROM open_sales s
         WHERE s.owed_before < p_amount
    ), new_allocations AS (
        INSERT INTO public.payment_allocations (business_id, payment_id, order_id, amount)
        SELECT v_business, p.id, s.order_id, s.amount FROM new_payment p, shares s
        RETURNING order_id, amount
    ), paid AS (
        UPDATE public.orders o SET paid = o.paid + s.amount
          FROM shares s, new_payment p
         WHERE o.business_id = v_business AND o.id = s.order_id
    ), balance AS (
        UPDATE public.customers c
           SET balance = c.balance - p_amount,
               oldest_open_due_on = (SELECT min(s.due_on)
                                       FROM open_sales s
                                       LEFT JOIN shares sh ON sh.order_id = s.id
                                      WHERE s.owed > coalesce(sh.amount, 0))
          FROM new_payment p
         WHERE c.business_id = v_business AND c.id = p_customer_id
    ), dues AS (
        UPDATE public.open_dues d SET owed = d.owed - s.amount
          FROM (SELECT due_on, sum(amount) AS amount FROM shares GROUP BY due_on) s,
               new_payment p
         WHERE d.business_id = v_business AND d.due_on = s.due_on
           AND d.shard = public.due_shard(p_customer_id)
        RETURNING 1
    )
    SELECT (SELECT id FROM new_payment), (SELECT p.number FROM new_payment p),
           (SELECT sum(a.amount) FROM new_allocations a),
           (SELECT jsonb_agg(jsonb_build_object('order_id', a.order_id, 'amount', a.amount)
                             ORDER BY s.listed)
              FROM new_allocations a JOIN shares s ON s.order_id = a.order_id),
           (SELECT count(*) FROM dues), (SELECT count(DISTINCT due_on) FROM shares),
           ARRAY(SELECT s.due_on FROM shares s), ARRAY(SELECT -s.amount FROM shares s)
      INTO payment_id, number, v_allocated, allocations, v_dues_rows, v_due_dates,
           v_owed_dues, v_owed_changes;
    IF payment_id IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'unknown or inactive user, or unknown API token',
                              '{"field": "user_id"}');
    END IF;
    -- The balance is the sum of what open sales still owe, so this can only fail if that
    -- invariant was already broken; then refuse rather than record a payment half applied.
    IF v_allocated IS DISTINCT FROM p_amount THEN
        RAISE EXCEPTION 'payment of % could be applied only as far as %', p_amount, v_allocated
            USING ERRCODE = 'XX000';
    END IF;
    -- Likewise, every due date paid must have had its amount owed kept: else the figures had
    -- drifted (see rebuild_due_summaries), and this payment would hide it.
    IF v_dues_rows <> v_due_dates THEN
        RAISE EXCEPTION 'amounts owed per due date are out of step; run rebuild_due_summaries'
            USING ERRCODE = 'XX000';
    END IF;
    -- The reports' rollups, after the counter (README's lock order): what is owed on each due
    -- date paid, in date order, then the money taken by this method today.
    PERFORM public.report_owed(v_business, NULL, v_owed_dues, v_owed_changes);
    PERFORM public.report_collections(v_business, NULL, p_method, p_amount, 0, 0);
    created := true;
    balance_after := v_balance - p_amount;
END
$$;

REVOKE ALL ON FUNCTION record_payment(uuid, uuid, numeric, text, text, uuid, uuid, uuid, uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_payment(uuid, uuid, numeric, text, text, uuid, uuid, uuid, uuid)
    TO shopcredit_app;
