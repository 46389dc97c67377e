"""Corrections racing the counter, with real threads and connections: a return against a payment
on the same sale, a void against a sale of the same product, two voids of one sale, and eight
tills numbering 2,000 sales of one shop."""

from __future__ import annotations

import uuid
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
    tenant_session,
)
from tests.test_returns import give_back
from webapp import ledger
from webapp.embedded import DatabaseUrls


def test_a_return_racing_a_payment_on_the_same_sale_keeps_the_ledger_whole(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00", stock=1000)
    for _ in range(10):
        customer = add_customer(database.admin, shop.business_id)
        order = sell(app, shop, customer, rice, 4)  # 40.00

        def work(index: int, customer: uuid.UUID = customer, order: uuid.UUID = order) -> object:
            if index == 0:
                return pay(app, shop, customer, Decimal("25.00"))
            return give_back(app, shop, order, lines=[(rice, 3)], refund_method="cash")

        paid, returned = at_once(2, work)
        assert isinstance(returned, ledger.Return), returned
        balance = fetch(database.admin, "SELECT balance FROM customers WHERE id = %s", customer)
        if isinstance(paid, ledger.Receipt):
            # The payment first: 40 − 25 = 15 owed, so of the 30 returned 15 is refunded.
            assert (balance, returned.refund) == ([(Decimal("0.00"),)], Decimal("15.00"))
        else:
            # The return first: 10 owed, and a payment of 25 is more than that.
            assert isinstance(paid, ledger.PaymentExceedsBalance), paid
            assert (balance, returned.refund) == ([(Decimal("10.00"),)], Decimal("0.00"))
    assert ledger_violations(database.admin) == []


def test_a_void_racing_a_sale_of_the_same_product_keeps_stock_right(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    oil = add_product(database.admin, shop.business_id, "Oil", price="2.00", stock=20)
    customers = [add_customer(database.admin, shop.business_id) for _ in range(2)]
    for _ in range(5):
        voided = sell(app, shop, customers[0], oil, 2)

        def work(index: int, voided: uuid.UUID = voided) -> object:
            if index == 0:
                return give_back(app, shop, voided, void=True)
            return sell(app, shop, customers[1], oil, 1)

        assert not [r for r in at_once(2, work) if isinstance(r, BaseException)]
    # 5 sales of 2 voided (back in stock), 5 sales of 1 kept.
    assert fetch(database.admin, "SELECT stock FROM products WHERE id = %s", oil) == [(15,)]
    assert ledger_violations(database.admin) == []


def test_two_voids_of_one_sale_one_wins(app: Flask, database: DatabaseUrls, shop: Shop) -> None:
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00", stock=100)
    customer = add_customer(database.admin, shop.business_id)
    for _ in range(5):
        order = sell(app, shop, customer, rice, 2)
        results = at_once(2, lambda _index, order=order: give_back(app, shop, order, void=True))
        won = [r for r in results if isinstance(r, ledger.Return)]
        lost = [r for r in results if isinstance(r, ledger.NothingToReturn)]
        assert (len(won), len(lost)) == (1, 1), results
    assert fetch(database.admin, "SELECT stock FROM products WHERE id = %s", rice) == [(100,)]
    assert ledger_violations(database.admin) == []


def test_eight_tills_number_two_thousand_sales_without_a_gap_or_a_repeat(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    tills, each = 8, 250
    rice = add_product(database.admin, shop.business_id, "Rice", price="1.00", stock=10_000)
    customers = [
        add_customer(database.admin, shop.business_id, f"Till {n} customer") for n in range(tills)
    ]

    def till(index: int) -> list[int]:
        numbers = []
        with tenant_session(app, shop.business_id) as session:
            for _ in range(each):
                sale = ledger.purchase(
                    session,
                    customer_id=customers[index],
                    lines=[ledger.Line(rice, 1)],
                    idempotency_key=uuid.uuid4(),
                    user_id=shop.clerk_id,
                )
                numbers.append(sale.number)
        return numbers

    results = at_once(tills, till)
    assert not [r for r in results if isinstance(r, BaseException)], results
    acknowledged = sorted(n for numbers in results for n in numbers)  # type: ignore[union-attr]
    assert acknowledged == list(range(1, tills * each + 1))
    stored = [n for (n,) in fetch(database.admin, "SELECT number FROM orders ORDER BY number")]
    assert stored == acknowledged
    assert ledger_violations(database.admin) == []
