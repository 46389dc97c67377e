-- report_collections(business, day, method, received, reversed, refunded): adds to the money
-- taken (a payment, received), given back (a refund) or reversed (counted on the day of the
-- payment reversed, as the cash-up counts it) by one method on one day in collections_by_day.
-- The day is today in the shop's timezone when NULL. Called by the ledger functions only,
-- last of the rollups (after the owed_by_day rows); each call writes one row.

CREATE OR REPLACE FUNCTION report_collections(
    p_business_id uuid,
    p_day         date,
    p_method      text,
    p_received    numeric,
    p_reversed    numeric,
    p_refunded    numeric
) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_day date := coalesce(p_day, (SELECT (now() AT TIME ZONE b.timezone)::date
                                     FROM public.businesses b WHERE b.id = p_business_id));
BEGIN
    INSERT INTO public.collections_by_day AS c (business_id, day, method, received, payments,
                                                reversed, reversals, refunded, refunds)
    VALUES (p_business_id, v_day, p_method, p_received, (p_received > 0)::integer, p_reversed,
            (p_reversed > 0)::integer, p_refunded, (p_refunded > 0)::integer)
    ON CONFLICT ON CONSTRAINT collections_by_day_pkey DO UPDATE
       SET received = c.received + excluded.received,
           payments = c.payments + excluded.payments,
           reversed = c.reversed + excluded.reversed,
           reversals = c.reversals + excluded.reversals,
           refunded = c.refunded + excluded.refunded,
           refunds = c.refunds + excluded.refunds;
END
$$;

REVOKE ALL ON FUNCTION report_collections(uuid, date, text, numeric, numeric, numeric)
    FROM PUBLIC;
