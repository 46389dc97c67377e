"""The ledger's invariants, checked over every business (as the owner: no row-level security).

- customers.balance = Σ sales' totals − Σ returns − Σ payments not reversed + Σ refunds;
- orders.returned = Σ of the sale's returns; orders.paid = Σ allocations of its payments not
  reversed; 0 ≤ paid and paid + returned ≤ total (what is left to pay is never negative);
- a payment's allocations plus what of it was refunded add up to its amount;
- a return takes back no more of a product than the sale sold, and its amount is its lines at
  the price sold; its refund is what its refund sources add up to;
- at the moment of every sale the new balance was within the credit limit, or the sale
  carries an owner's override (sales made before limits were kept with them are not checked);
- sales, payments and returns are numbered 1..n per shop without gaps or repeats, and each
  shop's counter stands at n;
- products.stock ≥ 0, and a product's stock history adds up to its stock;
and what the ledger maintains for the overdue list:
- customers.oldest_open_due_on = the earliest due date of that customer's open sales;
- open_dues: per business and due date, Σ owed = Σ (total − returned − paid) of the open sales
  due then;
and the reports' rollups the ledger functions keep (migration 0022):
- sales_by_day, sales_totals_by_day and collections_by_day hold what the ledger itself says
  (the functions of webapp/sql/functions/ledger_rollups.sql, which rebuild_report_rollups
  writes too); sales_by_month is the sum of its days;
- owed_by_day: per business and due date, Σ change = Σ (total − returned − paid) of the sales
  due then (its split over days is not checked: a rebuild puts what a return moved off a paid
  sale on the payment's day, the functions on the return's).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

# Σ per key, as a subquery to join on (business_id, <key>).
_RETURNS_BY_CUSTOMER = """(SELECT business_id, customer_id, sum(amount) AS amount,
                                  sum(refund) AS refund
                             FROM returns GROUP BY 1, 2)"""
_LIVE_PAYMENTS = """(SELECT p.* FROM payments p
                      WHERE NOT EXISTS (SELECT FROM payment_reversals v
                                         WHERE v.business_id = p.business_id
                                           AND v.payment_id = p.id))"""

CHECKS = {
    "customer balance differs from sales, returns, payments and refunds": f"""
        SELECT c.business_id, c.id,
               format('balance %s, sales %s, returns %s, payments %s, refunds %s', c.balance,
                      coalesce(o.sum, 0), coalesce(r.amount, 0), coalesce(p.sum, 0),
                      coalesce(r.refund, 0))
          FROM customers c
          LEFT JOIN (SELECT business_id, customer_id, sum(total) FROM orders GROUP BY 1, 2) o
                 ON o.business_id = c.business_id AND o.customer_id = c.id
          LEFT JOIN {_RETURNS_BY_CUSTOMER} r
                 ON r.business_id = c.business_id AND r.customer_id = c.id
          LEFT JOIN (SELECT business_id, customer_id, sum(amount) FROM {_LIVE_PAYMENTS} p
                      GROUP BY 1, 2) p
                 ON p.business_id = c.business_id AND p.customer_id = c.id
         WHERE c.balance <> coalesce(o.sum, 0) - coalesce(r.amount, 0) - coalesce(p.sum, 0)
                            + coalesce(r.refund, 0)""",
    "sale's returned amount differs from its returns": """
        SELECT o.business_id, o.id, format('returned %s, returns %s', o.returned,
                                           coalesce(r.sum, 0))
          FROM orders o
          LEFT JOIN (SELECT business_id, order_id, sum(amount) FROM returns GROUP BY 1, 2) r
                 ON r.business_id = o.business_id AND r.order_id = o.id
         WHERE o.returned <> coalesce(r.sum, 0)""",
    "sale's paid amount differs from its allocations": f"""
        SELECT o.business_id, o.id, format('paid %s, returned %s, allocated %s, total %s',
                                           o.paid, o.returned, coalesce(a.sum, 0), o.total)
          FROM orders o
          LEFT JOIN (SELECT a.business_id, a.order_id, sum(a.amount)
                       FROM payment_allocations a
                       JOIN {_LIVE_PAYMENTS} p
                         ON p.business_id = a.business_id AND p.id = a.payment_id
                      GROUP BY 1, 2) a
                 ON a.business_id = o.business_id AND a.order_id = o.id
         WHERE o.paid <> coalesce(a.sum, 0) OR o.paid < 0 OR o.paid + o.returned > o.total""",
    "payment's allocations and refunds differ from its amount": """
        SELECT p.business_id, p.id, format('amount %s, allocated %s, refunded %s', p.amount,
                                           coalesce(a.sum, 0), coalesce(r.sum, 0))
          FROM payments p
          LEFT JOIN (SELECT business_id, payment_id, sum(amount) FROM payment_allocations
                      GROUP BY 1, 2) a
                 ON a.business_id = p.business_id AND a.payment_id = p.id
          LEFT JOIN (SELECT business_id, payment_id, sum(amount) FROM refund_sources
                      GROUP BY 1, 2) r
                 ON r.business_id = p.business_id AND r.payment_id = p.id
         WHERE p.amount <> coalesce(a.sum, 0) + coalesce(r.sum, 0)""",
    "return takes back more than was sold": """
        SELECT i.business_id, i.order_id, format('product %s: sold %s, returned %s',
                                                 i.product_id, i.quantity, r.sum)
          FROM order_items i
          JOIN (SELECT ri.business_id, x.order_id, ri.product_id, sum(ri.quantity)
                  FROM return_items ri
                  JOIN returns x ON x.business_id = ri.business_id AND x.id = ri.return_id
                 GROUP BY 1, 2, 3) r
            ON r.business_id = i.business_id AND r.order_id = i.order_id
           AND r.product_id = i.product_id
         WHERE r.sum > i.quantity
        UNION ALL
        SELECT ri.business_id, x.order_id, format('product %s was not sold', ri.product_id)
          FROM return_items ri
          JOIN returns x ON x.business_id = ri.business_id AND x.id = ri.return_id
         WHERE NOT EXISTS (SELECT FROM order_items i
                            WHERE i.business_id = ri.business_id AND i.order_id = x.order_id
                              AND i.product_id = ri.product_id)""",
    "return's amount or refund differs from its lines or sources": """
        SELECT x.business_id, x.id, format('amount %s, lines %s, refund %s, sources %s',
                                           x.amount, l.sum, x.refund, coalesce(s.sum, 0))
          FROM returns x
          LEFT JOIN (SELECT business_id, return_id, sum(quantity * unit_price) FROM return_items
                      GROUP BY 1, 2) l
                 ON l.business_id = x.business_id AND l.return_id = x.id
          LEFT JOIN (SELECT business_id, return_id, sum(amount) FROM refund_sources
                      GROUP BY 1, 2) s
                 ON s.business_id = x.business_id AND s.return_id = x.id
         WHERE (l.sum IS NOT NULL AND l.sum <> x.amount) OR x.refund <> coalesce(s.sum, 0)""",
    "sale went over the credit limit without an owner's override": """
        SELECT business_id, id, format('sale %s: balance after %s, limit %s', number,
                                       balance_after, credit_limit)
          FROM orders
         WHERE balance_after > credit_limit AND override_reason IS NULL""",
    "numbers have a gap or a repeat": """
        SELECT n.business_id, n.kind, format('%s numbered, highest %s, counter at %s', n.count,
                                             n.max, c.last_number)
          FROM (SELECT business_id, 'sale' AS kind, count(*), count(DISTINCT number),
                       min(number), max(number) FROM orders GROUP BY 1
                UNION ALL
                SELECT business_id, 'payment', count(*), count(DISTINCT number), min(number),
                       max(number) FROM payments GROUP BY 1
                UNION ALL
                SELECT business_id, 'return', count(*), count(DISTINCT number), min(number),
                       max(number) FROM returns GROUP BY 1) n(business_id, kind, count,
                                                             distinct_count, min, max)
          LEFT JOIN document_counters c ON c.business_id = n.business_id AND c.kind = n.kind
         WHERE n.count <> n.distinct_count OR n.min <> 1 OR n.max <> n.count
            OR c.last_number IS DISTINCT FROM n.max""",
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
                      WHERE paid + returned < total GROUP BY 1, 2) o
                 ON o.business_id = c.business_id AND o.customer_id = c.id
         WHERE c.oldest_open_due_on IS DISTINCT FROM o.min""",
    "amount owed on a due date is wrong": """
        SELECT coalesce(d.business_id, o.business_id), coalesce(d.due_on, o.due_on),
               format('shard %s: kept %s, actual %s', coalesce(d.shard, o.shard),
                      coalesce(d.owed, 0), coalesce(o.sum, 0))
          FROM (SELECT * FROM open_dues WHERE owed <> 0) d
          FULL JOIN (SELECT business_id, due_on, due_shard(customer_id) AS shard,
                            sum(total - returned - paid)
                       FROM orders WHERE paid + returned < total GROUP BY 1, 2, 3) o
                 ON o.business_id = d.business_id AND o.due_on = d.due_on AND o.shard = d.shard
         WHERE coalesce(d.owed, 0) <> coalesce(o.sum, 0)""",
}


def _rollup_check(table: str, keys: tuple[str, ...], values: tuple[str, ...], expected: str) -> str:
    """Rows of `table` whose `values` differ from the `expected` rows (business_id, keys...,
    values...) matched on the keys; a row missing on either side counts as zeros."""
    on = " AND ".join(f"k.{key} = e.{key}" for key in ("business_id", *keys))
    kept = ", ".join(f"coalesce(k.{value}, 0)" for value in values)
    found = ", ".join(f"coalesce(e.{value}, 0)" for value in values)
    row = " || ' ' || ".join(f"coalesce(k.{key}, e.{key})::text" for key in keys)
    return f"""
        WITH e AS ({expected})
        SELECT coalesce(k.business_id, e.business_id), {row},
               format('kept %s, ledger %s', ROW({kept}), ROW({found}))
          FROM {table} k FULL JOIN e ON {on}
         WHERE ({kept}) <> ({found})"""


def _from_ledger(function: str) -> str:
    return (
        f"SELECT b.id AS business_id, f.* FROM businesses b CROSS JOIN LATERAL {function}(b.id) f"
    )


SOLD = ("sold_quantity", "sold_amount", "returned_quantity", "returned_amount")
CHECKS |= {
    "reports' sales by day differ from the ledger": _rollup_check(
        "sales_by_day", ("day", "product_id"), SOLD, _from_ledger("ledger_sales_by_day")
    ),
    "reports' sales by month differ from their days": _rollup_check(
        "sales_by_month",
        ("month", "product_id"),
        SOLD,
        f"""SELECT business_id, date_trunc('month', day)::date AS month, product_id,
                   {", ".join(f"sum({value}) AS {value}" for value in SOLD)}
              FROM sales_by_day GROUP BY 1, 2, 3""",
    ),
    "reports' daily totals differ from the ledger": _rollup_check(
        "sales_totals_by_day",
        ("day",),
        ("sales", "sold_amount", "returns", "returned_amount"),
        _from_ledger("ledger_sales_totals_by_day"),
    ),
    "reports' collections differ from the ledger": _rollup_check(
        "collections_by_day",
        ("day", "method"),
        ("received", "payments", "reversed", "reversals", "refunded", "refunds"),
        _from_ledger("ledger_collections_by_day"),
    ),
    "reports' amount owed on a due date differs from its sales": _rollup_check(
        "(SELECT business_id, due_on, sum(change) AS owed FROM owed_by_day GROUP BY 1, 2)",
        ("due_on",),
        ("owed",),
        """SELECT business_id, due_on, sum(total - returned - paid) AS owed
             FROM orders GROUP BY 1, 2""",
    ),
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
