-- Money taken and given back per period (:period: day, week or month) and method, from
-- :starts to :ends, both days included: payments received, of those the ones reversed since
-- (on the payment's day, as the cash-up counts them), and refunds. At most 366 × 5 rows read.
SELECT date_trunc(:period, c.day::timestamp)::date AS period, c.method,
       sum(c.received) AS received, sum(c.payments) AS payments,
       sum(c.reversed) AS reversed, sum(c.reversals) AS reversals,
       sum(c.refunded) AS refunded, sum(c.refunds) AS refunds
  FROM collections_by_day c
 WHERE c.business_id = current_business_id()
   AND c.day BETWEEN CAST(:starts AS date) AND CAST(:ends AS date)
 GROUP BY 1, 2
 ORDER BY 1, 2
