-- 0022: the reports' rollups (issue 16). The owners' reports (/reports) read these small tables,
-- never every sale: what was sold per day and product (and per month and product, for a year's
-- report by product), each day's totals, the change in what is owed per day and due date, and
-- the money taken per day and method. The ledger functions keep them (in the same transaction
-- as the change, after the shop's counter: README, "The ledger: lock order and invariants");
-- rebuild_report_rollups(business) fills them from the ledger, here for the rows that exist.
-- Days are the shop's own (its timezone). Opening balances are owed, but not sales.

-- Goods (and quick entries: product_id is the nil uuid) sold and taken back, per day and
-- product. Returns count on the day of the return, at the price sold.
CREATE TABLE sales_by_day (
    business_id       uuid NOT NULL REFERENCES businesses (id),
    day               date NOT NULL,
    product_id        uuid NOT NULL,  -- 00000000-0000-0000-0000-000000000000: without items
    sold_quantity     bigint NOT NULL DEFAULT 0,
    sold_amount       numeric(14, 2) NOT NULL DEFAULT 0,
    returned_quantity bigint NOT NULL DEFAULT 0,
    returned_amount   numeric(14, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, day, product_id)
);

-- The same per month (month: its first day), so a year by product reads 12 rows a product.
CREATE TABLE sales_by_month (
    business_id       uuid NOT NULL REFERENCES businesses (id),
    month             date NOT NULL CHECK (extract(day FROM month) = 1),
    product_id        uuid NOT NULL,
    sold_quantity     bigint NOT NULL DEFAULT 0,
    sold_amount       numeric(14, 2) NOT NULL DEFAULT 0,
    returned_quantity bigint NOT NULL DEFAULT 0,
    returned_amount   numeric(14, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, month, product_id)
);

-- Each day's sales and returns, all products together: how many and how much.
CREATE TABLE sales_totals_by_day (
    business_id     uuid NOT NULL REFERENCES businesses (id),
    day             date NOT NULL,
    sales           integer NOT NULL DEFAULT 0,
    sold_amount     numeric(14, 2) NOT NULL DEFAULT 0,
    returns         integer NOT NULL DEFAULT 0,
    returned_amount numeric(14, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, day)
);

-- The change in what customers owe, per day and due date: a sale or opening balance adds its
-- total on its day, a payment takes off what it paid of the sales due on each date, a return
-- what it took off each sale (its own, and the others its excess paid), a reversal puts back
-- what the payment had paid. What was owed at the end of day D, by due date, is the sum of the
-- rows up to D; summed over every day it is open_dues.
CREATE TABLE owed_by_day (
    business_id uuid NOT NULL REFERENCES businesses (id),
    day         date NOT NULL,
    due_on      date NOT NULL,
    change      numeric(14, 2) NOT NULL,
    PRIMARY KEY (business_id, day, due_on)
);

-- Money in and out per day and method: payments taken that day (received), of those the ones
-- reversed since (counted on the payment's day, as the cash-up counts them), and refunds
-- given that day.
CREATE TABLE collections_by_day (
    business_id    uuid NOT NULL REFERENCES businesses (id),
    day            date NOT NULL,
    method         text NOT NULL
                   CHECK (method IN ('cash', 'card', 'bank_transfer', 'mobile_money', 'other')),
    received       numeric(14, 2) NOT NULL DEFAULT 0,
    payments       integer NOT NULL DEFAULT 0,
    reversed       numeric(14, 2) NOT NULL DEFAULT 0,
    reversals      integer NOT NULL DEFAULT 0,
    refunded       numeric(14, 2) NOT NULL DEFAULT 0,
    refunds        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, day, method)
);

-- Read by the app under row-level security; written only by the ledger functions (as the
-- tables' owner).
ALTER TABLE sales_by_day ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sales_by_day
    USING (business_id = current_business_id())
    WITH CHECK (business_id = current_business_id());
GRANT SELECT ON sales_by_day TO shopcredit_app;

ALTER TABLE sales_by_month ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sales_by_month
    USING (business_id = current_business_id())
    WITH CHECK (business_id = current_business_id());
GRANT SELECT ON sales_by_month TO shopcredit_app;

ALTER TABLE sales_totals_by_day ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sales_totals_by_day
    USING (business_id = current_business_id())
    WITH CHECK (business_id = current_business_id());
GRANT SELECT ON sales_totals_by_day TO shopcredit_app;

ALTER TABLE owed_by_day ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON owed_by_day
    USING (business_id = current_business_id())
    WITH CHECK (business_id = current_business_id());
GRANT SELECT ON owed_by_day TO shopcredit_app;

ALTER TABLE collections_by_day ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON collections_by_day
    USING (business_id = current_business_id())
    WITH CHECK (business_id = current_business_id());
GRANT SELECT ON collections_by_day TO shopcredit_app;

-- The fill, as webapp/sql/functions/rebuild_report_rollups.sql defines it (that file is its
-- current definition, applied after the migrations; this is the one this migration ran).
CREATE FUNCTION rebuild_report_rollups(p_business_id uuid) RETURNS void
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

    -- Goods and quick entries sold, and taken back, per day and product.
    INSERT INTO public.sales_by_day (business_id, day, product_id, sold_quantity, sold_amount,
                                     returned_quantity, returned_amount)
    SELECT p_business_id, l.day, l.product_id, sum(l.sold_quantity), sum(l.sold_amount),
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

    INSERT INTO public.sales_by_month (business_id, month, product_id, sold_quantity,
                                       sold_amount, returned_quantity, returned_amount)
    SELECT p_business_id, date_trunc('month', s.day)::date, s.product_id, sum(s.sold_quantity),
           sum(s.sold_amount), sum(s.returned_quantity), sum(s.returned_amount)
      FROM public.sales_by_day s
     WHERE s.business_id = p_business_id
     GROUP BY 2, 3;

    INSERT INTO public.sales_totals_by_day (business_id, day, sales, sold_amount, returns,
                                            returned_amount)
    SELECT p_business_id, t.day, sum(t.sales), sum(t.sold_amount), sum(t.returns),
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
    SELECT p_business_id, m.day, m.method, sum(m.received), sum(m.payments), sum(m.reversed),
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

REVOKE ALL ON FUNCTION rebuild_report_rollups(uuid) FROM PUBLIC;

SELECT rebuild_report_rollups(id) FROM businesses ORDER BY id;
