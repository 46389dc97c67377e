"""The ledger's invariants, checked over every business (as the owner: no row-level security).

- customers.balance = Σ orders.total − Σ payments.amount for that customer;
- orders.paid = Σ payment_allocations.amount for that order, and 0 ≤ paid ≤ total;
- a payment's allocations add up to its amount;
- products.stock ≥ 0, and a product's stock history adds up to its stock;
and what the ledger maintains for the overdue list:
- customers.oldest_open_due_on = the earliest due date of that customer's open sales;
- open_dues: per business and due date, Σ owed = Σ (total − paid) of the open sales due then.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

CHECKS = {
    "customer balance differs from sales minus payments": """
        SELECT c.business_id, c.id,
               format('balance %s, sales %s, payments %s', c.balance, coalesce(o.sum, 0),
                      coalesce(p.sum, 0))
          FROM customers c
          LEFT JOIN (SELECT business_id, customer_id, sum(total) FROM orders GROUP BY 1, 2) o
                 ON o.business_id = c.business_id AND o.customer_id = c.id
          LEFT JOIN (SELECT business_id, customer_id, sum(amount) FROM payments GROUP BY 1, 2) p
                 ON p.business_id = c.business_id AND p.customer_id = c.id
         WHERE c.balance <> coalesce(o.sum, 0) - coalesce(p.sum, 0)""",
    "sale's paid amount differs from its allocations": """
        SELECT o.business_id, o.id, format('paid %s, allocated %s', o.paid, coalesce(a.sum, 0))
          FROM orders o
          LEFT JOIN (SELECT business_id, order_id, sum(amount) FROM payment_allocations
                      GROUP BY 1, 2) a
                 ON a.business_id = o.business_id AND a.order_id = o.id
         WHERE o.paid <> coalesce(a.sum, 0) OR o.paid < 0 OR o.paid > o.total""",
    "payment's allocations differ from its amount": """
        SELECT p.business_id, p.id, format('amount %s, allocated %s', p.amount, coalesce(a.sum, 0))
          FROM payments p
          LEFT JOIN (SELECT business_id, payment_id, sum(amount) FROM payment_allocations
                      GROUP BY 1, 2) a
                 ON a.business_id = p.business_id AND a.payment_id = p.id
         WHERE p.amount <> coalesce(a.sum, 0)""",
    "product stock is negative": """
        SELECT business_id, id, format('stock %s', stock) FROM products WHERE stock < 0""",
    "product stock differs from its stock history": """
        SELECT p.business_id, p.id, format('stock %s, history adds up to %s', p.stock,
                                           coalesce(m.sum, 0))
          FROM products p
          LEFT JOIN (SELECT business_id, product_id, sum(change) FROM stock_movements
                      GROUP BY 1, 2) m
                 ON m.business_id = p.business_id AND m.product_id = p.id
         WHERE p.stock <> coalesce(m.sum, 0)""",
    "customer's oldest open due date is wrong": """
        SELECT c.business_id, c.id, format('kept %s, actual %s', c.oldest_open_due_on, o.min)
          FROM customers c
          LEFT JOIN (SELECT business_id, customer_id, min(due_on) FROM orders
                      WHERE paid < total GROUP BY 1, 2) o
                 ON o.business_id = c.business_id AND o.customer_id = c.id
         WHERE c.oldest_open_due_on IS DISTINCT FROM o.min""",
    "amount owed on a due date is wrong": """
        SELECT coalesce(d.business_id, o.business_id), coalesce(d.due_on, o.due_on),
               format('shard %s: kept %s, actual %s', coalesce(d.shard, o.shard),
                      coalesce(d.owed, 0), coalesce(o.sum, 0))
          FROM (SELECT * FROM open_dues WHERE owed <> 0) d
          FULL JOIN (SELECT business_id, due_on, due_shard(customer_id) AS shard,
                            sum(total - paid)
                       FROM orders WHERE paid < total GROUP BY 1, 2, 3) o
                 ON o.business_id = d.business_id AND o.due_on = d.due_on AND o.shard = d.shard
         WHERE coalesce(d.owed, 0) <> coalesce(o.sum, 0)""",
}


@dataclass(frozen=True)
class Violation:
    rule: str
    business_id: str
    row_id: str
    facts: str

    def __str__(self) -> str:
        return f"{self.rule}: business {self.business_id}, row {self.row_id} ({self.facts})"


def find_violations(conn: Connection) -> list[Violation]:
    violations = []
    for rule, sql in CHECKS.items():
        for business_id, row_id, facts in conn.execute(text(sql)):
            violations.append(Violation(rule, str(business_id), str(row_id), facts))
    return violations
