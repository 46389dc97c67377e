-- The :limit customers who owe the most now, with how many owe anything and how much in all.
-- customers.balance is kept by the ledger functions; it has no index of its own (every sale
-- and payment changes it, and an index would make each of those updates write every index of
-- customers), so this reads the shop's customers who owe anything: its cost follows the
-- number of customers, not of sales (bench/README.md). The first :limit by balance are kept
-- as they come (a top-N sort), and the count and sum taken apart, so nothing sorts them all.
WITH top AS (
    SELECT c.id, c.name, c.phone, c.balance, c.credit_limit, c.oldest_open_due_on
      FROM customers c
     WHERE c.business_id = current_business_id() AND c.balance > 0
     ORDER BY c.balance DESC, c.name, c.id
     LIMIT :limit
), totals AS (
    SELECT count(*) AS owing, sum(c.balance) AS owed
      FROM customers c
     WHERE c.business_id = current_business_id() AND c.balance > 0
)
SELECT top.*, totals.owing, totals.owed
  FROM top CROSS JOIN totals
 ORDER BY top.balance DESC, top.name, top.id
