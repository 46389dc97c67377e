-- What each product sold and what came back of it from :starts to :ends, both days included:
-- the whole months inside the range from the monthly rollup (12 rows a product for a year),
-- the days before and after them from the daily one. Sales without items (quick entries) are
-- the nil product, which has no name.
WITH bounds AS (
    SELECT r.starts, r.ends, r.first_month,
           greatest(r.first_month,
                    date_trunc('month', (r.ends + 1)::timestamp)::date) AS after_months
      FROM (SELECT CAST(:starts AS date) AS starts, CAST(:ends AS date) AS ends,
                   date_trunc('month', (CAST(:starts AS date) - 1)::timestamp + interval '1 month')
                       ::date AS first_month) r
), lines AS (
    SELECT m.product_id, m.sold_quantity, m.sold_amount, m.returned_quantity, m.returned_amount
      FROM bounds b
      JOIN sales_by_month m ON m.business_id = current_business_id()
                           AND m.month >= b.first_month AND m.month < b.after_months
    UNION ALL
    SELECT d.product_id, d.sold_quantity, d.sold_amount, d.returned_quantity, d.returned_amount
      FROM bounds b
      JOIN sales_by_day d ON d.business_id = current_business_id()
                         AND d.day >= b.starts AND d.day < least(b.first_month, b.ends + 1)
    UNION ALL
    SELECT d.product_id, d.sold_quantity, d.sold_amount, d.returned_quantity, d.returned_amount
      FROM bounds b
      JOIN sales_by_day d ON d.business_id = current_business_id()
                         AND d.day >= b.after_months AND d.day <= b.ends
)
SELECT l.product_id, p.name, p.sku,
       sum(l.sold_quantity) AS sold_quantity, sum(l.sold_amount) AS sold,
       sum(l.returned_quantity) AS returned_quantity, sum(l.returned_amount) AS returned
  FROM lines l
  LEFT JOIN products p ON p.business_id = current_business_id() AND p.id = l.product_id
 GROUP BY l.product_id, p.name, p.sku
 ORDER BY sum(l.sold_amount) - sum(l.returned_amount) DESC, p.name NULLS FIRST, l.product_id
