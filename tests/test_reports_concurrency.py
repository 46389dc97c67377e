"""The reports' rollups under eight tills at once, with real threads and connections calling the
ledger functions straight (no retry, so a deadlock would show): sales of shared products, quick
entries, payments over several due dates, returns that move money between sales and refund
it, and reversals all write the same day's rollup rows. None deadlocks, the ledger stays whole,
and the rollups the functions kept are exactly what rebuild_report_rollups makes from the
ledger."""

from __future__ import annotations

import json
import random
import uuid
from decimal import Decimal

import psycopg
from flask import Flask

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    at_once,
    fetch,
    ledger_violations,
    redate_sale,
    sell,
)
from tests.test_reports import rollups
from webapp.embedded import DatabaseUrls

TILLS = 8
OPERATIONS = 40


def test_eight_tills_never_deadlock_on_the_rollups(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    products = [
        add_product(database.admin, shop.business_id, f"Product {n}", price="3.00", stock=100000)
        for n in range(3)
    ]
    customers = [
        add_customer(database.admin, shop.business_id, f"Customer {n}", credit_limit="100000.00")
        for n in range(TILLS * 2)
    ]
    # Sales due on several dates already (due 20, 10 days ago, in 5 days), so payments and
    # returns change what is owed on several due dates each.
    for customer in customers:
        for due_in in (-20, -10, 5):
            redate_sale(database.admin, sell(app, shop, customer, products[0], 2), due_in)
    business = str(shop.business_id)

    def till(index: int) -> list[str]:
        rng = random.Random(index)
        mine = customers[index * 2 : index * 2 + 2]
        problems: list[str] = []
        with psycopg.connect(database.app, autocommit=False) as conn:

            def call(sql: str, params: dict[str, object]) -> tuple[object, ...] | None:
                try:
                    with conn.transaction():
                        conn.execute("SELECT set_config('app.business_id', %s, true)", (business,))
                        return conn.execute(sql, params).fetchone()
                except psycopg.Error as error:
                    code = error.sqlstate or ""
                    if not code.startswith("SC"):  # a refusal of the ledger's own is fine
                        problems.append(f"{code} {error}")
                    return None

            orders: list[str] = []
            payments: list[str] = []
            for _ in range(OPERATIONS):
                customer = rng.choice(mine)
                kind = rng.choice(("sale", "sale", "quick", "pay", "pay", "return", "reverse"))
                common = {"b": business, "k": str(uuid.uuid4())}
                if kind == "sale":
                    chosen = rng.sample(products, rng.randint(1, 3))
                    items = [{"product_id": str(p), "quantity": rng.randint(1, 3)} for p in chosen]
                    row = call(
                        "SELECT order_id FROM process_purchase(%(b)s, %(c)s, %(i)s, %(k)s, %(u)s,"
                        " NULL, NULL, NULL, NULL)",
                        {**common, "c": customer, "i": json.dumps(items), "u": shop.clerk_id},
                    )
                    if row:
                        orders.append(str(row[0]))
                elif kind == "quick":
                    call(
                        "SELECT order_id FROM process_purchase(%(b)s, %(c)s, NULL, %(k)s, %(u)s,"
                        " NULL, 7.50, 'goods', NULL)",
                        {**common, "c": customer, "u": shop.clerk_id},
                    )
                elif kind == "pay":
                    row = call(
                        "SELECT payment_id FROM record_payment(%(b)s, %(c)s, %(a)s, %(m)s, '',"
                        " %(k)s, %(u)s, NULL, NULL)",
                        {
                            **common,
                            "c": customer,
                            "a": Decimal(rng.choice(("5.00", "9.00", "14.50"))),
                            "m": rng.choice(("cash", "card", "mobile_money")),
                            "u": shop.clerk_id,
                        },
                    )
                    if row:
                        payments.append(str(row[0]))
                elif kind == "return" and orders:
                    call(
                        "SELECT return_id FROM record_return(%(b)s, %(o)s, NULL, NULL, true,"
                        " 'back', 'cash', %(k)s, %(u)s, NULL)",
                        {**common, "o": orders.pop(rng.randrange(len(orders))), "u": shop.owner_id},
                    )
                elif kind == "reverse" and payments:
                    call(
                        "SELECT number FROM reverse_payment(%(b)s, %(p)s, 'bounced', %(k)s,"
                        " %(u)s, NULL)",
                        {
                            **common,
                            "p": payments.pop(rng.randrange(len(payments))),
                            "u": shop.owner_id,
                        },
                    )
        return problems

    results = at_once(TILLS, till)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert [problem for r in results if isinstance(r, list) for problem in r] == []
    assert ledger_violations(database.admin) == []
    # Every kind of change happened, several times, on rows the tills share.
    done = fetch(
        database.admin,
        """SELECT (SELECT count(*) FROM orders WHERE business_id = %s),
                  (SELECT count(*) FROM payments WHERE business_id = %s),
                  (SELECT count(*) FROM returns WHERE business_id = %s AND refund > 0),
                  (SELECT count(*) FROM returns WHERE business_id = %s),
                  (SELECT count(*) FROM payment_reversals WHERE business_id = %s)""",
        *[shop.business_id] * 5,
    )[0]
    assert done[0] > TILLS * 2 * 3 + 40 and done[1] > 40, done
    assert done[2] >= 1 and done[3] > 10 and done[4] > 5, done
    kept = rollups(database.admin, shop.business_id)
    with psycopg.connect(database.admin) as conn:
        conn.execute("SELECT rebuild_report_rollups(%s)", (shop.business_id,))
    assert rollups(database.admin, shop.business_id) == kept
