"""Sales and payments at once on the same few customers: real threads, real connections."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from decimal import Decimal

from flask import Flask

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    at_once,
    fetch,
    ledger_violations,
    pay,
    sell,
)
from webapp import ledger
from webapp.embedded import DatabaseUrls


def test_ten_retries_of_one_payment_record_it_once(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="100")
    product = add_product(database.admin, shop.business_id, price="10.00")
    sell(app, shop, customer, product, 5)
    key = uuid.uuid4()

    results = at_once(10, lambda _: pay(app, shop, customer, Decimal("12.50"), key=key))

    assert all(isinstance(result, ledger.Receipt) for result in results), results
    receipts = [result for result in results if isinstance(result, ledger.Receipt)]
    assert len({receipt.payment_id for receipt in receipts}) == 1
    assert sum(receipt.created for receipt in receipts) == 1
    assert fetch(database.admin, "SELECT balance FROM customers") == [(Decimal("37.50"),)]
    assert ledger_violations(database.admin) == []


def test_mixed_sales_and_payments_keep_every_invariant(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    limits = ("50.00", "80.00", "120.00")
    customers = [
        add_customer(database.admin, shop.business_id, f"C{i}", credit_limit=limit)
        for i, limit in enumerate(limits)
    ]
    product = add_product(database.admin, shop.business_id, price="7.00", stock=100_000)

    def till(index: int) -> Counter[str]:
        rng = random.Random(index)  # reproducible per till
        outcomes: Counter[str] = Counter()
        for _ in range(30):
            customer = rng.choice(customers)
            try:
                if rng.random() < 0.6:
                    sell(app, shop, customer, product, rng.randint(1, 3))
                    outcomes["sale"] += 1
                else:
                    pay(app, shop, customer, Decimal(rng.randint(1, 2000)) / 100)
                    outcomes["payment"] += 1
            except (ledger.CreditLimitExceeded, ledger.PaymentExceedsBalance) as refusal:
                outcomes[type(refusal).__name__] += 1
        return outcomes

    results = at_once(8, till)

    assert all(isinstance(result, Counter) for result in results), results
    totals = sum((result for result in results if isinstance(result, Counter)), Counter())
    assert totals["sale"] > 0 and totals["payment"] > 0
    assert sum(totals.values()) == 240  # every operation either happened or was refused cleanly
    assert ledger_violations(database.admin) == []
    # No sale ever took a balance over the limit at its moment (limits never changed here).
    over = fetch(
        database.admin,
        "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id"
        " WHERE o.balance_after > c.credit_limit",
    )
    assert over == [(0,)]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(totals["sale"],)]
    assert fetch(database.admin, "SELECT count(*) FROM payments") == [(totals["payment"],)]
