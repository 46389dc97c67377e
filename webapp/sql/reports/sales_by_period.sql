-- Sales and returns per period (:period: day, week or month; weeks start on Monday) from
-- :starts to :ends, both days included, from each day's totals: at most 366 rows read.
SELECT date_trunc(:period, t.day::timestamp)::date AS period,
       sum(t.sales) AS sales, sum(t.sold_amount) AS sold,
       sum(t.returns) AS returns, sum(t.returned_amount) AS returned
  FROM sales_totals_by_day t
 WHERE t.business_id = current_business_id()
   AND t.day BETWEEN CAST(:starts AS date) AND CAST(:ends AS date)
 GROUP BY 1
 ORDER BY 1
