-- record_opening_balances(business, entries, user) → how many were recorded.
-- What customers already owed when the shop started using ShopCredit, each recorded as a sale
-- without items made today (due after the business's credit days, like any sale), within the
-- customer's credit limit. `entries` is a JSON array of {"customer_id", "amount"}: one for the
-- customer form, thousands for a CSV import, in one set of statements either way, so an import
-- holds the open_dues rows it adds to for milliseconds, not for a row-by-row loop.
--
-- The business is the one bound to the transaction (app.business_id): that binding is the
-- authority. p_business_id must name the same business (a distributed PostgreSQL, Citus, routes
-- each call by it); any other, or none bound, is refused before anything is read.
-- Locks: the customers in id order, then the open_dues rows of today's due date in shard order,
-- the sale counter, and last today's owed_by_day row of that due date (the reports' rollup).
--
-- Refusals, with a JSON DETAIL: SC002 above a limit, SC003 customer not found, SC004 bad input;
-- each names the customer (DETAIL customer_id) so an import can point at the row. SC003 with
-- {"entity": "business", "id"} when p_business_id is not the bound business.

CREATE OR REPLACE FUNCTION record_opening_balances(
    p_business_id uuid,
    p_entries     jsonb,
    p_user_id     uuid
)
RETURNS integer
LANGUAGE plpgsql
-- Runs as the tables' owner: the app role may not write stock or balances itself (0011).
-- The business bound to the transaction is checked first and every statement names it;
-- every name of ours is schema-qualified and pg_temp comes last.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_business uuid := public.current_business_id();
    v_customer uuid;
    v_amount   numeric;
    v_balance  numeric;
    v_limit    numeric;
    v_count    integer;
    v_total    numeric;
    v_due_on   date;
BEGIN
    -- The business named is the one bound to this transaction (the bound one decides).
    IF v_business IS NULL OR p_business_id IS DISTINCT FROM v_business THEN
        PERFORM public.ledger_refuse('SC003', 'business not found',
                              jsonb_build_object('entity', 'business', 'id', p_business_id));
    END IF;
    IF p_entries IS NULL OR jsonb_typeof(p_entries) <> 'array'
       OR jsonb_array_length(p_entries) = 0 THEN
        PERFORM public.ledger_refuse('SC004', 'no opening balances given', '{"field": "entries"}');
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
        PERFORM public.ledger_refuse('SC004',
                              'an opening balance is more than zero, with at most 2 decimals',
                              jsonb_build_object('field', 'opening_balance',
                                                 'customer_id', v_customer));
    END IF;
    -- Compared as uuids (every id is known to be one by now): the same id in capitals is the
    -- same customer, and two entries for one customer would each pass the limit alone.
    IF (SELECT count(DISTINCT (e ->> 'customer_id')::uuid) FROM jsonb_array_elements(p_entries) e)
       <> jsonb_array_length(p_entries) THEN
        PERFORM public.ledger_refuse('SC004', 'a customer is given twice', '{"field": "entries"}');
    END IF;

    PERFORM 1 FROM public.customers c
     WHERE c.business_id = v_business
       AND c.id IN (SELECT (e ->> 'customer_id')::uuid FROM jsonb_array_elements(p_entries) e)
     ORDER BY c.id
       FOR NO KEY UPDATE;
    SELECT l.customer_id, l.amount, c.balance, c.credit_limit
      INTO v_customer, v_amount, v_balance, v_limit
      FROM (SELECT (e ->> 'customer_id')::uuid AS customer_id, (e ->> 'amount')::numeric AS amount
              FROM jsonb_array_elements(p_entries) e) l
      LEFT JOIN public.customers c ON c.business_id = v_business AND c.id = l.customer_id
     WHERE c.id IS NULL OR c.balance + l.amount > c.credit_limit
     ORDER BY c.id IS NOT NULL, l.customer_id
     LIMIT 1;
    IF FOUND AND v_balance IS NULL THEN
        PERFORM public.ledger_refuse('SC003', 'customer not found',
                              jsonb_build_object('entity', 'customer', 'id', v_customer,
                                                 'customer_id', v_customer));
    ELSIF FOUND THEN
        PERFORM public.ledger_refuse('SC002', 'credit limit exceeded',
                              jsonb_build_object('available_credit', greatest(v_limit - v_balance, 0),
                                                 'total', v_amount, 'customer_id', v_customer));
    END IF;

    WITH entries AS (
        SELECT (e ->> 'customer_id')::uuid AS customer_id, (e ->> 'amount')::numeric AS amount
          FROM jsonb_array_elements(p_entries) e
    ), new_orders AS (
        INSERT INTO public.orders (business_id, customer_id, total, due_on, created_by,
                            idempotency_key, balance_after, is_opening_balance, credit_limit,
                            number)
        SELECT v_business, e.customer_id, e.amount,
               (now() AT TIME ZONE b.timezone)::date + b.credit_days,
               u.id, gen_random_uuid(), c.balance + e.amount, true, c.credit_limit,
               public.next_number(v_business, 'sale')
          FROM entries e
          JOIN public.customers c ON c.business_id = v_business AND c.id = e.customer_id
          JOIN public.businesses b ON b.id = v_business
          JOIN public.users u ON u.business_id = v_business AND u.id = p_user_id AND u.is_active
        RETURNING customer_id, total, due_on
    ), balances AS (
        UPDATE public.customers c
           SET balance = c.balance + o.total,
               oldest_open_due_on = least(c.oldest_open_due_on, o.due_on)
          FROM new_orders o
         WHERE c.business_id = v_business AND c.id = o.customer_id
    ), dues AS (
        INSERT INTO public.open_dues AS d (business_id, due_on, shard, owed)
        SELECT v_business, o.due_on, public.due_shard(o.customer_id), sum(o.total)
          FROM new_orders o
         GROUP BY 2, 3
         ORDER BY 2, 3
        ON CONFLICT ON CONSTRAINT open_dues_pkey DO UPDATE SET owed = d.owed + excluded.owed
    )
    SELECT count(*), sum(o.total), min(o.due_on) INTO v_count, v_total, v_due_on
      FROM new_orders o;
    IF v_count <> jsonb_array_length(p_entries) THEN
        PERFORM public.ledger_refuse('SC004', 'unknown or inactive user', '{"field": "user_id"}');
    END IF;
    -- The reports' rollups, after the counter: what is owed on that due date (an opening
    -- balance is owed, but is not a sale of the day).
    PERFORM public.report_owed(v_business, NULL, ARRAY[v_due_on], ARRAY[v_total]);
    RETURN v_count;
END
$$;

REVOKE ALL ON FUNCTION record_opening_balances(uuid, jsonb, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_opening_balances(uuid, jsonb, uuid) TO shopcredit_app;
