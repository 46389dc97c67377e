-- What each product sold and what came back of it in a range of days: whole months from the
-- monthly rollup (12 rows a product for a year), plus the days of the daily one in add1 and
-- add2, less those in sub1 and sub2 (webapp/insights/period.py, month_split, works the
-- ranges out: at either end, the month read whole less the days outside the range, or the
-- days inside it, whichever is fewer). Each bound is a plain parameter, so each part reads
-- only its own range of its table's key. Sales without items (quick entries) are the nil
-- product, which has no name.
WITH lines AS (
    SELECT m.product_id, m.sold_quantity, m.sold_amount, m.returned_quantity, m.returned_amount
      FROM sales_by_month m
     WHERE m.business_id = current_business_id()
       AND m.month >= CAST(:months_from AS date) AND m.month < CAST(:months_to AS date)
    UNION ALL
    SELECT d.product_id, d.sold_quantity, d.sold_amount, d.returned_quantity, d.returned_amount
      FROM sales_by_day d
     WHERE d.business_id = current_business_id()
       AND (d.day >= CAST(:add1_from AS date) AND d.day < CAST(:add1_to AS date)
            OR d.day >= CAST(:add2_from AS date) AND d.day < CAST(:add2_to AS date))
    UNION ALL
    SELECT d.product_id, -d.sold_quantity, -d.sold_amount, -d.returned_quantity,
           -d.returned_amount
      FROM sales_by_day d
     WHERE d.business_id = current_business_id()
       AND (d.day >= CAST(:sub1_from AS date) AND d.day < CAST(:sub1_to AS date)
            OR d.day >= CAST(:sub2_from AS date) AND d.day < CAST(:sub2_to AS date))
)
-- Summed per product first (by its uuid), then named: a few hundred rows to join and sort.
-- (A product whose sales and returns in the range come to nothing is left out.)
SELECT t.product_id, p.name, p.sku, t.sold_quantity, t.sold, t.returned_quantity, t.returned
  FROM (SELECT l.product_id,
               sum(l.sold_quantity) AS sold_quantity, sum(l.sold_amount) AS sold,
               sum(l.returned_quantity) AS returned_quantity, sum(l.returned_amount) AS returned
          FROM lines l
         GROUP BY l.product_id
        HAVING sum(l.sold_quantity) <> 0 OR sum(l.sold_amount) <> 0
            OR sum(l.returned_quantity) <> 0 OR sum(l.returned_amount) <> 0) t
  LEFT JOIN products p ON p.business_id = current_business_id() AND p.id = t.product_id
 ORDER BY t.sold - t.returned DESC, p.name NULLS FIRST, t.product_id
