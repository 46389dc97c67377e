-- adjust_stock(business, product, change, reason, note, idempotency key, user, counted): a
-- stock change other than a sale, as one locked transaction; returns the movement, whether this
-- call recorded it, the change and the resulting stock.
-- A delivery adds, damage removes, a count correction either; with p_counted (a count
-- correction only) the change is what makes the stock equal the count, worked out under the
-- product's lock; a count that matches is recorded with a change of 0.
--
-- The business is the one bound to the transaction (app.business_id): that binding is the
-- authority. p_business_id must name the same business (a distributed PostgreSQL, Citus, routes
-- each call by it); any other, or none bound, is refused before anything is read.
-- Locks one product and nothing else (a transaction holding only a product never waits for a
-- customer, so the global lock order holds).
--
-- Refusals, with a JSON DETAIL: SC001 stock would go below zero {"product_id", "name",
-- "available", "requested"}, SC003 not found {"entity": "business"|"product", "id"}, SC004 bad
-- input {"field"}, SC007 the key was used for another product's change {"movement_id"}.

CREATE OR REPLACE FUNCTION adjust_stock(
    p_business_id     uuid,
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
-- Runs as the tables' owner: the app role may not write stock or balances itself (0011).
-- The business bound to the transaction is checked first and every statement names it;
-- every name of ours is schema-qualified and pg_temp comes last.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_business uuid := public.current_business_id();
    v_stock    integer;
    v_name     text;
    v_change   integer := p_change;
    v_keyed_product uuid;
BEGIN
    -- The business named is the one bound to this transaction (the bound one decides).
    IF v_business IS NULL OR p_business_id IS DISTINCT FROM v_business THEN
        PERFORM public.ledger_refuse('SC003', 'business not found',
                              jsonb_build_object('entity', 'business', 'id', p_business_id));
    END IF;
    IF p_idempotency_key IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'an idempotency key is required',
                              '{"field": "idempotency_key"}');
    END IF;
    IF p_reason IS NULL OR p_reason NOT IN ('delivery', 'count_correction', 'damage') THEN
        PERFORM public.ledger_refuse('SC004', 'choose a reason: delivery, count correction or damage',
                              '{"field": "reason"}');
    END IF;
    IF p_counted IS NOT NULL AND (p_reason <> 'count_correction' OR p_counted NOT BETWEEN 0 AND 1000000000) THEN
        PERFORM public.ledger_refuse('SC004', 'the count must be a whole number from 0 up',
                              '{"field": "counted"}');
    END IF;
    IF p_counted IS NULL AND (v_change IS NULL OR v_change = 0 OR abs(v_change) > 1000000) THEN
        PERFORM public.ledger_refuse('SC004', 'the change must be a whole number, not zero',
                              '{"field": "change"}');
    END IF;
    IF p_counted IS NULL AND ((p_reason = 'delivery' AND v_change < 0)
                              OR (p_reason = 'damage' AND v_change > 0)) THEN
        PERFORM public.ledger_refuse('SC004',
                              CASE p_reason WHEN 'delivery' THEN 'a delivery adds stock'
                                            ELSE 'damage removes stock' END,
                              '{"field": "change"}');
    END IF;
    IF length(coalesce(p_note, '')) > 500 THEN
        PERFORM public.ledger_refuse('SC004', 'the note is at most 500 characters', '{"field": "note"}');
    END IF;

    -- A key seen before answers with that movement (of this product only: another product's
    -- key is a client's mistake, refused as a sale's is).
    SELECT m.id, m.change, m.resulting_stock, m.product_id
      INTO movement_id, change, resulting_stock, v_keyed_product
      FROM public.stock_movements m
     WHERE m.business_id = v_business AND m.idempotency_key = p_idempotency_key;
    IF v_keyed_product IS NULL THEN
        -- The one lock a stock change takes.
        SELECT p.stock, p.name INTO v_stock, v_name
          FROM public.products p WHERE p.business_id = v_business AND p.id = p_product_id
           FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            PERFORM public.ledger_refuse('SC003', 'product not found',
                                  jsonb_build_object('entity', 'product', 'id', p_product_id));
        END IF;
        -- The key again, under the product's lock: another request with the same key may have
        -- just committed it while we waited for that lock.
        SELECT m.id, m.change, m.resulting_stock, m.product_id
          INTO movement_id, change, resulting_stock, v_keyed_product
          FROM public.stock_movements m
         WHERE m.business_id = v_business AND m.idempotency_key = p_idempotency_key;
    END IF;
    IF v_keyed_product <> p_product_id THEN
        PERFORM public.ledger_refuse('SC007', 'this idempotency key belongs to another stock change',
                              jsonb_build_object('movement_id', movement_id));
    ELSIF v_keyed_product IS NOT NULL THEN
        created := false;
        RETURN;
    END IF;

    IF p_counted IS NOT NULL THEN
        v_change := p_counted - v_stock;
    END IF;
    IF v_stock + v_change < 0 THEN
        PERFORM public.ledger_refuse('SC001', 'insufficient stock',
                              jsonb_build_object('product_id', p_product_id, 'name', v_name,
                                                 'available', v_stock,
                                                 'requested', -v_change));
    END IF;

    WITH movement AS (
        INSERT INTO public.stock_movements (business_id, product_id, change, reason, resulting_stock,
                                     note, created_by, idempotency_key)
        SELECT v_business, p_product_id, v_change, p_reason, v_stock + v_change,
               coalesce(p_note, ''), u.id, p_idempotency_key
          FROM public.users u
         WHERE u.business_id = v_business AND u.id = p_user_id AND u.is_active
        RETURNING id
    ), stock AS (
        UPDATE public.products p SET stock = v_stock + v_change
          FROM movement
         WHERE p.business_id = v_business AND p.id = p_product_id
    ), logged AS (
        -- Corrections (a count, damage) go in the activity log; deliveries are ordinary work.
        INSERT INTO public.activity_log (business_id, user_id, kind, summary, before, after,
                                         reason, product_id)
        SELECT v_business, p_user_id, 'stock',
               format('Stock of %s: %s', v_name,
                      CASE p_reason WHEN 'damage' THEN 'damage' ELSE 'count correction' END),
               jsonb_build_object('stock', v_stock), jsonb_build_object('stock', v_stock + v_change),
               coalesce(p_note, ''), p_product_id
          FROM movement
         WHERE p_reason <> 'delivery'
    )
    SELECT m.id INTO movement_id FROM movement m;
    IF movement_id IS NULL THEN
        PERFORM public.ledger_refuse('SC004', 'unknown or inactive user', '{"field": "user_id"}');
    END IF;
    created := true;
    change := v_change;
    resulting_stock := v_stock + v_change;
END
$$;

REVOKE ALL ON FUNCTION adjust_stock(uuid, uuid, integer, text, text, uuid, uuid, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION adjust_stock(uuid, uuid, integer, text, text, uuid, uuid, integer)
    TO shopcredit_app;
