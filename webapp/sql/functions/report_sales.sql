-- report_sales(business, day, products, quantities, amounts, is_return): adds one sale's lines
-- (or one return's) to the reports' rollups: sales_by_day and sales_by_month per product, and
-- the day's totals in sales_totals_by_day (one more sale, or return). A sale without items
-- passes the nil uuid as its one product, with quantity 0. The day is today in the shop's
-- timezone when NULL. Called by the ledger functions only (process_purchase, record_return),
-- after the shop's counter, as the first of the rollups: rows in product id order, then the
-- month's, then the day's totals (README, "The ledger: lock order and invariants"). The
-- product rows are only ever written under that product's lock, which the caller holds.

CREATE OR REPLACE FUNCTION report_sales(
    p_business_id uuid,
    p_day         date,
    p_product_ids uuid[],
    p_quantities  integer[],
    p_amounts     numeric[],
    p_return      boolean
) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_day date := coalesce(p_day, (SELECT (now() AT TIME ZONE b.timezone)::date
                                     FROM public.businesses b WHERE b.id = p_business_id));
    v_sold integer := CASE WHEN p_return THEN 0 ELSE 1 END;
    v_back integer := CASE WHEN p_return THEN 1 ELSE 0 END;
BEGIN
    INSERT INTO public.sales_by_day AS s (business_id, day, product_id, sold_quantity,
                                          sold_amount, returned_quantity, returned_amount)
    SELECT p_business_id, v_day, l.product_id, v_sold * sum(l.quantity), v_sold * sum(l.amount),
           v_back * sum(l.quantity), v_back * sum(l.amount)
      FROM unnest(p_product_ids, p_quantities, p_amounts) AS l(product_id, quantity, amount)
     GROUP BY l.product_id
     ORDER BY l.product_id
    ON CONFLICT ON CONSTRAINT sales_by_day_pkey DO UPDATE
       SET sold_quantity = s.sold_quantity + excluded.sold_quantity,
           sold_amount = s.sold_amount + excluded.sold_amount,
           returned_quantity = s.returned_quantity + excluded.returned_quantity,
           returned_amount = s.returned_amount + excluded.returned_amount;

    INSERT INTO public.sales_by_month AS s (business_id, month, product_id, sold_quantity,
                                            sold_amount, returned_quantity, returned_amount)
    SELECT p_business_id, date_trunc('month', v_day)::date, l.product_id,
           v_sold * sum(l.quantity), v_sold * sum(l.amount),
           v_back * sum(l.quantity), v_back * sum(l.amount)
      FROM unnest(p_product_ids, p_quantities, p_amounts) AS l(product_id, quantity, amount)
     GROUP BY l.product_id
     ORDER BY l.product_id
    ON CONFLICT ON CONSTRAINT sales_by_month_pkey DO UPDATE
       SET sold_quantity = s.sold_quantity + excluded.sold_quantity,
           sold_amount = s.sold_amount + excluded.sold_amount,
           returned_quantity = s.returned_quantity + excluded.returned_quantity,
           returned_amount = s.returned_amount + excluded.returned_amount;

    INSERT INTO public.sales_totals_by_day AS t (business_id, day, sales, sold_amount, returns,
                                                 returned_amount)
    SELECT p_business_id, v_day, v_sold, v_sold * coalesce(sum(l.amount), 0), v_back,
           v_back * coalesce(sum(l.amount), 0)
      FROM unnest(p_amounts) AS l(amount)
    ON CONFLICT ON CONSTRAINT sales_totals_by_day_pkey DO UPDATE
       SET sales = t.sales + excluded.sales,
           sold_amount = t.sold_amount + excluded.sold_amount,
           returns = t.returns + excluded.returns,
           returned_amount = t.returned_amount + excluded.returned_amount;
END
$$;

REVOKE ALL ON FUNCTION report_sales(uuid, date, uuid[], integer[], numeric[], boolean)
    FROM PUBLIC;
