-- rebuild_due_summaries(business_id): rebuilds both summaries the ledger functions keep
-- (customers.oldest_open_due_on and open_dues) from the sales, for data loaded or corrected
-- outside the ledger functions (imports, demo history, repairs). Owner only: the app role may
-- not call it. Never refuses.
-- It first takes every customer of the business, in the global lock order, so no sale or
-- payment is half seen; the statements after it then see everything committed before.

CREATE OR REPLACE FUNCTION rebuild_due_summaries(p_business_id uuid) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 1 FROM public.customers WHERE business_id = p_business_id ORDER BY id
       FOR NO KEY UPDATE;
    UPDATE public.customers c
       SET oldest_open_due_on = (SELECT min(o.due_on) FROM public.orders o
                                  WHERE o.business_id = c.business_id
                                    AND o.customer_id = c.id
                                    AND o.paid + o.returned < o.total)
     WHERE c.business_id = p_business_id;
    DELETE FROM public.open_dues WHERE business_id = p_business_id;
    INSERT INTO public.open_dues (business_id, due_on, shard, owed)
    SELECT o.business_id, o.due_on, public.due_shard(o.customer_id),
           sum(o.total - o.returned - o.paid)
      FROM public.orders o
     WHERE o.business_id = p_business_id AND o.paid + o.returned < o.total
     GROUP BY 1, 2, 3;
$$;

REVOKE ALL ON FUNCTION rebuild_due_summaries(uuid) FROM PUBLIC;
