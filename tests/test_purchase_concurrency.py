"""Many tills at once: real threads, each with its own connection as the app role."""

from __future__ import annotations

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
    tenant_session,
)
from webapp import ledger
from webapp.embedded import DatabaseUrls


def _sell(
    app: Flask,
    shop: Shop,
    customer: uuid.UUID,
    lines: list[tuple[uuid.UUID, int]],
    key: uuid.UUID | None = None,
) -> ledger.Sale:
    with tenant_session(app, shop.business_id) as session:
        return ledger.purchase(
            session,
            customer_id=customer,
            lines=[ledger.Line(product, quantity) for product, quantity in lines],
            idempotency_key=key or uuid.uuid4(),
            user_id=shop.clerk_id,
        )


def test_forty_tills_cannot_sell_more_than_ten_in_stock(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, stock=10)
    customers = [add_customer(database.admin, shop.business_id, f"C{i}") for i in range(40)]

    results = at_once(40, lambda i: _sell(app, shop, customers[i], [(product, 1)]))

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Sale": 10, "InsufficientStock": 30}, results
    assert fetch(database.admin, "SELECT stock FROM products") == [(0,)]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(10,)]
    assert ledger_violations(database.admin) == []


def test_twenty_tills_cannot_push_a_customer_past_the_limit(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="100.00")
    product = add_product(database.admin, shop.business_id, price="10.00", stock=1000)

    results = at_once(20, lambda _: _sell(app, shop, customer, [(product, 1)]))

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Sale": 10, "CreditLimitExceeded": 10}, results
    assert fetch(database.admin, "SELECT balance FROM customers") == [(Decimal("100.00"),)]
    # Every sale left the balance within the limit at its moment.
    assert fetch(database.admin, "SELECT max(balance_after) FROM orders") == [(Decimal("100.00"),)]
    assert ledger_violations(database.admin) == []


def test_opposite_product_orders_never_deadlock(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    a = add_product(database.admin, shop.business_id, "A", price="1.00", stock=10_000)
    b = add_product(database.admin, shop.business_id, "B", price="1.00", stock=10_000)
    customers = [add_customer(database.admin, shop.business_id, f"C{i}") for i in range(16)]

    def till(index: int) -> int:
        # Half the tills list A then B, the other half B then A; 25 sales each, 400 in all.
        lines = [(a, 1), (b, 1)] if index % 2 == 0 else [(b, 1), (a, 1)]
        for _ in range(25):
            _sell(app, shop, customers[index], lines)
        return 25

    results = at_once(16, till)

    assert results == [25] * 16  # no exception of any kind reached a till
    assert sorted(fetch(database.admin, "SELECT name, stock FROM products")) == [
        ("A", 9_600),
        ("B", 9_600),
    ]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(400,)]
    assert ledger_violations(database.admin) == []


def test_ten_retries_of_one_sale_record_it_once(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, stock=50)
    key = uuid.uuid4()

    results = at_once(10, lambda _: _sell(app, shop, customer, [(product, 2)], key))

    assert all(isinstance(result, ledger.Sale) for result in results), results
    sales = [result for result in results if isinstance(result, ledger.Sale)]
    assert len({sale.order_id for sale in sales}) == 1
    assert sum(sale.created for sale in sales) == 1
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(1,)]
    assert fetch(database.admin, "SELECT stock FROM products") == [(48,)]
    assert ledger_violations(database.admin) == []


def test_one_key_raced_by_different_customers_records_one_sale(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, stock=50)
    customers = [add_customer(database.admin, shop.business_id, f"C{i}") for i in range(8)]
    key = uuid.uuid4()

    results = at_once(8, lambda i: _sell(app, shop, customers[i], [(product, 1)], key))

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Sale": 1, "IdempotencyKeyReused": 7}, results
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(1,)]
    assert ledger_violations(database.admin) == []
