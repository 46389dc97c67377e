-- What three of the reports' rollups must hold for a business, worked out from the ledger
-- itself (orders, their lines, returns, payments, reversals): rebuild_report_rollups writes
-- them, and check-ledger (webapp/ledger_check.py) compares them with what the ledger functions
-- kept. (owed_by_day and sales_by_month are checked by their sums: see ledger_check.py.)
-- Owner only. In a file of their own, applied before rebuild_report_rollups.sql, which uses
-- them.

-- Goods and quick entries sold, and taken back, per day and product (the zero id: without
-- items).
CREATE OR REPLACE FUNCTION ledger_sales_by_day(p_business_id uuid)
RETURNS TABLE (day date, product_id uuid, sold_quantity bigint, sold_amount numeric,
               returned_quantity bigint, returned_amount numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.day, l.product_id, sum(l.sold_quantity), sum(l.sold_amount),
           sum(l.returned_quantity), sum(l.returned_amount)
      FROM (SELECT (o.created_at AT TIME ZONE b.timezone)::date AS day, i.product_id,
                   i.quantity AS sold_quantity, i.quantity * i.unit_price AS sold_amount,
                   0 AS returned_quantity, 0 AS returned_amount
              FROM public.order_items i
              JOIN public.orders o ON o.business_id = i.business_id AND o.id = i.order_id
              JOIN public.businesses b ON b.id = o.business_id
             WHERE i.business_id = p_business_id
            UNION ALL
            SELECT (o.created_at AT TIME ZONE b.timezone)::date,
                   '00000000-0000-0000-0000-000000000000', 0, o.total, 0, 0
              FROM public.orders o
              JOIN public.businesses b ON b.id = o.business_id
             WHERE o.business_id = p_business_id AND NOT o.is_opening_balance
               AND NOT EXISTS (SELECT FROM public.order_items i
                                WHERE i.business_id = o.business_id AND i.order_id = o.id)
            UNION ALL
            SELECT (x.created_at AT TIME ZONE b.timezone)::date, ri.product_id, 0, 0,
                   ri.quantity, ri.quantity * ri.unit_price
              FROM public.return_items ri
              JOIN public.returns x ON x.business_id = ri.business_id AND x.id = ri.return_id
              JOIN public.businesses b ON b.id = x.business_id
             WHERE ri.business_id = p_business_id
            UNION ALL
            SELECT (x.created_at AT TIME ZONE b.timezone)::date,
                   '00000000-0000-0000-0000-000000000000', 0, 0, 0, x.amount
              FROM public.returns x
              JOIN public.orders o ON o.business_id = x.business_id AND o.id = x.order_id
              JOIN public.businesses b ON b.id = x.business_id
             WHERE x.business_id = p_business_id AND NOT o.is_opening_balance
               AND NOT EXISTS (SELECT FROM public.return_items ri
                                WHERE ri.business_id = x.business_id AND ri.return_id = x.id)
           ) l
     GROUP BY l.day, l.product_id;
$$;

-- Sales and returns per day, opening balances left out.
CREATE OR REPLACE FUNCTION ledger_sales_totals_by_day(p_business_id uuid)
RETURNS TABLE (day date, sales bigint, sold_amount numeric, returns bigint,
               returned_amount numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.day, sum(t.sales), sum(t.sold_amount), sum(t.returns),
           sum(t.returned_amount)
      FROM (SELECT (o.created_at AT TIME ZONE b.timezone)::date AS day, 1 AS sales,
                   o.total AS sold_amount, 0 AS returns, 0 AS returned_amount
              FROM public.orders o
              JOIN public.businesses b ON b.id = o.business_id
             WHERE o.business_id = p_business_id AND NOT o.is_opening_balance
            UNION ALL
            SELECT (x.created_at AT TIME ZONE b.timezone)::date, 0, 0, 1, x.amount
              FROM public.returns x
              JOIN public.orders o ON o.business_id = x.business_id AND o.id = x.order_id
              JOIN public.businesses b ON b.id = x.business_id
             WHERE x.business_id = p_business_id AND NOT o.is_opening_balance) t
     GROUP BY t.day;
$$;

-- Money in per day and method (a reversal on the payment's own day, as the cash-up shows it),
-- and refunds on the return's day by their method.
CREATE OR REPLACE FUNCTION ledger_collections_by_day(p_business_id uuid)
RETURNS TABLE (day date, method text, received numeric, payments bigint, reversed numeric,
               reversals bigint, refunded numeric, refunds bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.day, m.method, sum(m.received), sum(m.payments), sum(m.reversed),
           sum(m.reversals), sum(m.refunded), sum(m.refunds)
      FROM (SELECT (p.created_at AT TIME ZONE b.timezone)::date AS day, p.method,
                   p.amount AS received, 1 AS payments,
                   CASE WHEN v.id IS NULL THEN 0 ELSE p.amount END AS reversed,
                   CASE WHEN v.id IS NULL THEN 0 ELSE 1 END AS reversals,
                   0 AS refunded, 0 AS refunds
              FROM public.payments p
              JOIN public.businesses b ON b.id = p.business_id
              LEFT JOIN public.payment_reversals v ON v.business_id = p.business_id
                                                  AND v.payment_id = p.id
             WHERE p.business_id = p_business_id
            UNION ALL
            SELECT (x.created_at AT TIME ZONE b.timezone)::date, x.refund_method, 0, 0, 0, 0,
                   x.refund, 1
              FROM public.returns x
              JOIN public.businesses b ON b.id = x.business_id
             WHERE x.business_id = p_business_id AND x.refund > 0) m
     GROUP BY m.day, m.method;
$$;

REVOKE ALL ON FUNCTION ledger_sales_by_day(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_sales_totals_by_day(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_collections_by_day(uuid) FROM PUBLIC;
