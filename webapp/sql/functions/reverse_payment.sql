-- reverse_payment(business, payment, reason, idempotency key, user, API token): a payment
-- undone (a bounced cheque, mobile money reversed, the wrong customer), by an owner, with a
-- reason. Its allocations are undone, so each sale it paid owes that again and the customer's
-- balance goes back up, even past the credit limit (the customer is then shown as over it;
-- nothing is refused). The payment and its allocations stay, marked reversed; reversals are
-- not numbered. A payment part of which was refunded by a return cannot be reversed.
--
-- The business is the one bound to the transaction, as for the other ledger functions.
-- Locks: the customer, then the open_dues rows of the paid sales' due dates in date order,
-- then the reports' rollup rows (owed_by_day in due-date order, then collections_by_day).
--
-- Refusals, with a JSON DETAIL:
--   SC003 not found                {"entity": "business"|"payment", "id"}
--   SC004 invalid input            {"field"}
--   SC007 idempotency key reused   {"payment_id"}   (the key reversed another payment, or with
--                                  another reason)
--   SC008 not permitted            {"reason": "owner_only"}
--   SC011 already reversed         {"payment_id"}
--   SC012 partly refunded          {"payment_id", "refunded"}

CREATE OR REPLACE FUNCTION reverse_payment(
    p_business_id     uuid,
    p_payment_id      uuid,
    p_reason          text,
    p_idempotency_key uuid,
    p_user_id         uuid,
    p_api_token_id    uuid,
    OUT created       boolean,  -- false: the key named this reversal, already recorded
    OUT number        bigint,   -- the reversed payment's
    OUT balance_after numeric,
    OUT customer_id   uuid
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_business uuid := public.current_business_id();
    v_reason   text := btrim(coalesce(p_reason, ''));
    v_hash     uuid := md5(jsonb_build_object('payment', p_payment_id,
                                              'reason', btrim(coalesce(p_reason, '')))::text)::uuid;
    v_existing public.payment_reversals;
    v_payment  public.payments;
    v_balance  numeric;
    v_refunded numeric;
    v_undone   numeric;
    v_owed_dues    date[];
    v_owed_changes numeric[];
BEGIN
    IF v_business IS NULL OR p_business_id IS DISTINCT FROM v_business THEN
        PERFORM public.ledger_refuse('SC003', 'business not found',
                              jsonb_build_object('entity', 'business', 'id', p_business_id));
    END IF;
    IF p_idempotency_key IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'an idempotency key is required',
                              '{"field": "idempotency_key"}');
    END IF;
    IF v_reason = '' OR length(v_reason) > 500 THEN
        PERFORM public.ledger_refuse('SC004', 'say why, in at most 500 characters',
                              '{"field": "reason"}');
    END IF;

    SELECT * INTO v_payment FROM public.payments p
     WHERE p.business_id = v_business AND p.id = p_payment_id;
    IF NOT FOUND THEN
        PERFORM public.ledger_refuse('SC003', 'payment not found',
                              jsonb_build_object('entity', 'payment', 'id', p_payment_id));
    END IF;
    SELECT c.balance INTO v_balance FROM public.customers c
     WHERE c.business_id = v_business AND c.id = v_payment.customer_id
       FOR NO KEY UPDATE;

    -- A key seen before (looked for under the customer's lock): that reversal again.
    SELECT * INTO v_existing FROM public.payment_reversals v
     WHERE v.business_id = v_business AND v.idempotency_key = p_idempotency_key;
    IF v_existing.id IS NOT NULL THEN
        IF v_existing.request_hash <> v_hash THEN
            PERFORM public.ledger_refuse('SC007',
                                  'this idempotency key was used for a different request',
                                  jsonb_build_object('payment_id', v_existing.payment_id));
        END IF;
        created := false;
        number := v_payment.number;
        balance_after := v_existing.balance_after;
        customer_id := v_payment.customer_id;
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT FROM public.users u
                    WHERE u.business_id = v_business AND u.id = p_user_id AND u.is_active
                      AND u.role = 'owner') THEN
        PERFORM public.ledger_refuse('SC008', 'only an owner can reverse a payment',
                              '{"reason": "owner_only"}');
    END IF;
    IF EXISTS (SELECT FROM public.payment_reversals v
                WHERE v.business_id = v_business AND v.payment_id = p_payment_id) THEN
        PERFORM public.ledger_refuse('SC011', 'this payment was already reversed',
                              jsonb_build_object('payment_id', p_payment_id));
    END IF;
    SELECT sum(s.amount) INTO v_refunded FROM public.refund_sources s
     WHERE s.business_id = v_business AND s.payment_id = p_payment_id;
    IF v_refunded IS NOT NULL THEN
        PERFORM public.ledger_refuse('SC012',
                              format('%s of this payment was refunded by a return, so it cannot '
                                     'be reversed', v_refunded),
                              jsonb_build_object('payment_id', p_payment_id,
                                                 'refunded', v_refunded));
    END IF;

    PERFORM 1 FROM public.open_dues d
      WHERE d.business_id = v_business AND d.shard = public.due_shard(v_payment.customer_id)
        AND d.due_on IN (SELECT o.due_on
                           FROM public.payment_allocations a
                           JOIN public.orders o ON o.business_id = a.business_id
                                               AND o.id = a.order_id
                          WHERE a.business_id = v_business AND a.payment_id = p_payment_id)
      ORDER BY d.due_on
        FOR NO KEY UPDATE;

    WITH undone AS (
        UPDATE public.orders o SET paid = o.paid - a.amount
          FROM public.payment_allocations a
         WHERE a.business_id = v_business AND a.payment_id = p_payment_id
           AND o.business_id = v_business AND o.id = a.order_id
        RETURNING o.due_on, a.amount
    ), dues AS (
        INSERT INTO public.open_dues AS d (business_id, due_on, shard, owed)
        SELECT v_business, u.due_on, public.due_shard(v_payment.customer_id), sum(u.amount)
          FROM undone u
         GROUP BY u.due_on
         ORDER BY u.due_on
        ON CONFLICT ON CONSTRAINT open_dues_pkey DO UPDATE SET owed = d.owed + excluded.owed
    )
    SELECT coalesce(sum(u.amount), 0), array_agg(u.due_on), array_agg(u.amount)
      INTO v_undone, v_owed_dues, v_owed_changes
      FROM undone u;
    IF v_undone <> v_payment.amount THEN
        RAISE EXCEPTION 'payment % of % had allocations of only %', p_payment_id,
                        v_payment.amount, v_undone USING ERRCODE = 'XX000';
    END IF;

    UPDATE public.customers c
       SET balance = c.balance + v_undone,
           oldest_open_due_on = (SELECT min(o.due_on) FROM public.orders o
                                  WHERE o.business_id = v_business AND o.customer_id = c.id
                                    AND o.paid + o.returned < o.total)
     WHERE c.business_id = v_business AND c.id = v_payment.customer_id;

    INSERT INTO public.payment_reversals (business_id, payment_id, reason, created_by,
                                          api_token_id, idempotency_key, request_hash,
                                          balance_after)
    VALUES (v_business, p_payment_id, v_reason, p_user_id, p_api_token_id, p_idempotency_key,
            v_hash, v_balance + v_undone);
    -- The reports' rollups (README's lock order): what is owed again on each due date, in
    -- date order, then the payment counted as reversed on its own day, by its method.
    PERFORM public.report_owed(v_business, NULL, v_owed_dues, v_owed_changes);
    PERFORM public.report_collections(
        v_business,
        (SELECT (v_payment.created_at AT TIME ZONE b.timezone)::date
           FROM public.businesses b WHERE b.id = v_business),
        v_payment.method, 0, v_payment.amount, 0);
    INSERT INTO public.activity_log (business_id, user_id, api_token_id, kind, summary, before,
                                     after, reason, customer_id, payment_id)
    VALUES (v_business, p_user_id, p_api_token_id, 'reversal',
            format('Payment %s of %s reversed', v_payment.number, v_payment.amount),
            jsonb_build_object('balance', v_balance),
            jsonb_build_object('balance', v_balance + v_undone),
            v_reason, v_payment.customer_id, p_payment_id);

    created := true;
    number := v_payment.number;
    balance_after := v_balance + v_undone;
    customer_id := v_payment.customer_id;
END
$$;

REVOKE ALL ON FUNCTION reverse_payment(uuid, uuid, text, uuid, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reverse_payment(uuid, uuid, text, uuid, uuid, uuid) TO shopcredit_app;
