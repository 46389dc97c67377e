-- rebuild_report_rollups(business_id): fills the reports' rollups (sales_by_day,
-- sales_by_month, sales_totals_by_day, owed_by_day, collections_by_day; migration 0022) again
-- from the ledger, for data loaded or corrected outside the ledger functions (demo history,
-- repairs, benchmarks), as rebuild_due_summaries does for the overdue list. Owner only: the app
-- role may not call it. Never refuses.
-- It first takes every customer of the business, in the global lock order, so no sale,
-- payment, return or reversal is half seen (each locks its customer first).
-- Today's figures come out exactly as the ledger functions keep them; for the past, what a
-- return moved off a sale already paid shows on the day of the payment it came from (the
-- ledger keeps no history of allocations), where the functions record it on the return's day.
-- Sales, their totals and collections per day are what ledger_rollups.sql works out.

CREATE OR REPLACE FUNCTION rebuild_report_rollups(p_business_id uuid) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 1 FROM public.customers WHERE business_id = p_business_id ORDER BY id
       FOR NO KEY UPDATE;
    DELETE FROM public.sales_by_day WHERE business_id = p_business_id;
    DELETE FROM public.sales_by_month WHERE business_id = p_business_id;
    DELETE FROM public.sales_totals_by_day WHERE business_id = p_business_id;
    DELETE FROM public.owed_by_day WHERE business_id = p_business_id;
    DELETE FROM public.collections_by_day WHERE business_id = p_business_id;

    INSERT INTO public.sales_by_day (business_id, day, product_id, sold_quantity, sold_amount,
                                     returned_quantity, returned_amount)
    SELECT p_business_id, e.* FROM public.ledger_sales_by_day(p_business_id) e;

    INSERT INTO public.sales_by_month (business_id, month, product_id, sold_quantity,
                                       sold_amount, returned_quantity, returned_amount)
    SELECT p_business_id, date_trunc('month', s.day)::date, s.product_id, sum(s.sold_quantity),
           sum(s.sold_amount), sum(s.returned_quantity), sum(s.returned_amount)
      FROM public.sales_by_day s
     WHERE s.business_id = p_business_id
     GROUP BY 2, 3;

    INSERT INTO public.sales_totals_by_day (business_id, day, sales, sold_amount, returns,
                                            returned_amount)
    SELECT p_business_id, e.* FROM public.ledger_sales_totals_by_day(p_business_id) e;

    -- What is owed: each sale on its day; each payment's allocations as they stand now on
    -- the payment's day (a reversed payment's taken off on its day and put back on the
    -- reversal's); each return's amount on its day. Per due date that sums to Σ (total −
    -- returned − paid), what open_dues holds. (What a return moved off a sale already paid,
    -- to other sales or back as a refund, shows on the day of the payment it came from.)
    INSERT INTO public.owed_by_day (business_id, day, due_on, change)
    SELECT p_business_id, c.day, c.due_on, sum(c.change)
      FROM (SELECT (o.created_at AT TIME ZONE b.timezone)::date AS day, o.due_on,
                   o.total AS change
              FROM public.orders o
              JOIN public.businesses b ON b.id = o.business_id
             WHERE o.business_id = p_business_id
            UNION ALL
            SELECT (p.created_at AT TIME ZONE b.timezone)::date, o.due_on, -a.amount
              FROM public.payment_allocations a
              JOIN public.payments p ON p.business_id = a.business_id AND p.id = a.payment_id
              JOIN public.orders o ON o.business_id = a.business_id AND o.id = a.order_id
              JOIN public.businesses b ON b.id = a.business_id
             WHERE a.business_id = p_business_id
            UNION ALL
            SELECT (v.created_at AT TIME ZONE b.timezone)::date, o.due_on, a.amount
              FROM public.payment_reversals v
              JOIN public.payment_allocations a ON a.business_id = v.business_id
                                              AND a.payment_id = v.payment_id
              JOIN public.orders o ON o.business_id = a.business_id AND o.id = a.order_id
              JOIN public.businesses b ON b.id = v.business_id
             WHERE v.business_id = p_business_id
            UNION ALL
            SELECT (x.created_at AT TIME ZONE b.timezone)::date, o.due_on, -x.amount
              FROM public.returns x
              JOIN public.orders o ON o.business_id = x.business_id AND o.id = x.order_id
              JOIN public.businesses b ON b.id = x.business_id
             WHERE x.business_id = p_business_id) c
     GROUP BY c.day, c.due_on
    HAVING sum(c.change) <> 0;

    INSERT INTO public.collections_by_day (business_id, day, method, received, payments,
                                           reversed, reversals, refunded, refunds)
    SELECT p_business_id, e.* FROM public.ledger_collections_by_day(p_business_id) e;
$$;

REVOKE ALL ON FUNCTION rebuild_report_rollups(uuid) FROM PUBLIC;
