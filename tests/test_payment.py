"""record_payment through webapp.ledger: applying money to sales, on a real PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
import pytest
from flask import Flask

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    fetch,
    ledger_violations,
    pay,
    redate_sale,
    sell,
    tenant_session,
)
from webapp import ledger
from webapp.embedded import DatabaseUrls


def _state(database: DatabaseUrls) -> dict[str, object]:
    return {
        "payments": fetch(database.admin, "SELECT count(*) FROM payments")[0][0],
        "allocations": fetch(database.admin, "SELECT count(*) FROM payment_allocations")[0][0],
        "paid": fetch(database.admin, "SELECT id, paid FROM orders ORDER BY id"),
        "balances": fetch(database.admin, "SELECT id, balance FROM customers ORDER BY id"),
    }


def _three_old_sales(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Sales of 10, 20 and 30, due 3, 2 and 1 weeks ago (oldest first)."""
    customer = add_customer(database.admin, shop.business_id, credit_limit="1000.00")
    product = add_product(database.admin, shop.business_id, price="10.00")
    orders = [sell(app, shop, customer, product, quantity) for quantity in (1, 2, 3)]
    for weeks, order in zip((3, 2, 1), orders, strict=True):
        redate_sale(database.admin, order, -7 * weeks, created_days_ago=7 * weeks + 30)
    return customer, orders


def test_partial_payments_are_applied_oldest_first(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer, (first, second, third) = _three_old_sales(app, database, shop)

    receipt = pay(app, shop, customer, Decimal("15.00"))
    assert receipt.created
    assert receipt.balance_after == Decimal("45.00")
    assert receipt.allocations == [
        ledger.Allocation(first, Decimal("10.00")),
        ledger.Allocation(second, Decimal("5.00")),
    ]
    receipt = pay(app, shop, customer, Decimal("20.00"))
    assert receipt.allocations == [
        ledger.Allocation(second, Decimal("15.00")),
        ledger.Allocation(third, Decimal("5.00")),
    ]
    paid = dict(fetch(database.admin, "SELECT id, paid FROM orders"))
    assert paid == {first: Decimal("10.00"), second: Decimal("20.00"), third: Decimal("5.00")}
    assert fetch(database.admin, "SELECT balance FROM customers") == [(Decimal("25.00"),)]
    assert ledger_violations(database.admin) == []


def test_a_payment_aimed_at_one_sale_goes_there_first(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer, (first, _, third) = _three_old_sales(app, database, shop)
    receipt = pay(app, shop, customer, Decimal("25.00"), order=third)
    assert receipt.allocations == [ledger.Allocation(third, Decimal("25.00"))]

    # More than the named sale still owes: the rest goes to the oldest.
    receipt = pay(app, shop, customer, Decimal("12.00"), order=third)
    assert sorted(receipt.allocations, key=lambda a: a.amount) == [
        ledger.Allocation(third, Decimal("5.00")),
        ledger.Allocation(first, Decimal("7.00")),
    ]
    assert ledger_violations(database.admin) == []


def test_an_overpayment_is_refused_and_nothing_is_written(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer, _ = _three_old_sales(app, database, shop)
    before = _state(database)
    with pytest.raises(ledger.PaymentExceedsBalance) as refused:
        pay(app, shop, customer, Decimal("60.01"))
    assert refused.value.balance == Decimal("60.00")
    assert _state(database) == before
    assert pay(app, shop, customer, Decimal("60.00")).balance_after == Decimal("0.00")


@pytest.mark.parametrize(
    "amount", [Decimal("0"), Decimal("-5"), Decimal("1.234"), Decimal("1e12"), None]
)
def test_bad_amounts_are_refused(
    app: Flask, database: DatabaseUrls, shop: Shop, amount: Decimal | None
) -> None:
    customer, _ = _three_old_sales(app, database, shop)
    before = _state(database)
    with pytest.raises(ledger.InvalidInput) as refused:
        pay(app, shop, customer, amount)
    assert refused.value.field == "amount"
    assert _state(database) == before


def test_a_bad_method_is_refused(app: Flask, database: DatabaseUrls, shop: Shop) -> None:
    customer, _ = _three_old_sales(app, database, shop)
    with pytest.raises(ledger.InvalidInput) as refused:
        pay(app, shop, customer, Decimal("1"), method="cheque")
    assert refused.value.field == "method"


def test_a_named_sale_must_be_open_and_the_customers_own(
    app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    customer, (first, _, _) = _three_old_sales(app, database, shop)
    other = add_customer(database.admin, shop.business_id, "Other", credit_limit="100")
    product = add_product(database.admin, shop.business_id, "Other product")
    others_sale = sell(app, shop, other, product, 1)
    pay(app, shop, customer, Decimal("10.00"), order=first)
    before = _state(database)

    with pytest.raises(ledger.InvalidInput) as refused:
        pay(app, shop, customer, Decimal("1.00"), order=first)
    assert refused.value.reason == "already_paid"
    with pytest.raises(ledger.InvalidInput) as refused:
        pay(app, shop, customer, Decimal("1.00"), order=others_sale)
    assert refused.value.reason == "other_customer"
    with pytest.raises(ledger.NotFound) as missing:
        pay(app, shop, customer, Decimal("1.00"), order=uuid.uuid4())
    assert missing.value.entity == "sale"
    assert _state(database) == before


def test_another_business_customer_is_not_found(
    app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    theirs = add_customer(database.admin, other_shop.business_id)
    fetch(database.admin, "UPDATE customers SET balance = 10 WHERE id = %s RETURNING id", theirs)
    with pytest.raises(ledger.NotFound):
        pay(app, shop, theirs, Decimal("1.00"))


def test_the_same_key_records_once(app: Flask, database: DatabaseUrls, shop: Shop) -> None:
    customer, _ = _three_old_sales(app, database, shop)
    key = uuid.uuid4()
    first = pay(app, shop, customer, Decimal("15.00"), key=key)
    after = _state(database)
    again = pay(app, shop, customer, Decimal("15.00"), key=key)
    assert (again.payment_id, again.created, again.balance_after, again.allocations) == (
        first.payment_id,
        False,
        first.balance_after,
        first.allocations,
    )
    assert _state(database) == after


def test_the_naive_balance_trap(app: Flask, database: DatabaseUrls, shop: Shop) -> None:
    """Limit 1000, a sale of 400, two payments of 100, then a sale of 500 must succeed."""
    customer = add_customer(database.admin, shop.business_id, credit_limit="1000.00")
    product = add_product(database.admin, shop.business_id, price="100.00")
    sell(app, shop, customer, product, 4)
    pay(app, shop, customer, Decimal("100.00"))
    pay(app, shop, customer, Decimal("100.00"))
    with tenant_session(app, shop.business_id) as session:
        sale = ledger.purchase(
            session,
            customer_id=customer,
            lines=[ledger.Line(product, 5)],
            idempotency_key=uuid.uuid4(),
            user_id=shop.clerk_id,
        )
    assert sale.balance_after == Decimal("700.00")
    assert ledger_violations(database.admin) == []


def test_the_ledger_names_its_business_even_when_the_owner_calls_it(
    app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    """The owner bypasses row-level security (the demo loader calls the ledger as owner): a
    sale and a payment of business B must still leave business A's rows alone — here A's
    figures for the same due date and shard."""
    ann = add_customer(database.admin, shop.business_id, "Ann", credit_limit="500")
    product = add_product(database.admin, shop.business_id, price="50.00")
    sell(app, shop, ann, product, 1)
    (shard,) = fetch(database.admin, "SELECT due_shard(%s)", ann)[0]
    theirs = next(
        customer
        for customer in (
            add_customer(database.admin, other_shop.business_id, f"B{n}", credit_limit="500")
            for n in range(200)
        )
        if fetch(database.admin, "SELECT due_shard(%s)", customer)[0][0] == shard
    )
    their_product = add_product(database.admin, other_shop.business_id, price="50.00")
    with psycopg.connect(database.admin) as conn:
        conn.execute(
            "SELECT set_config('app.business_id', %s, true)", (str(other_shop.business_id),)
        )
        conn.execute(
            "SELECT process_purchase(%s, %s, %s::jsonb, gen_random_uuid(), %s)",
            (
                other_shop.business_id,
                theirs,
                f'[{{"product_id": "{their_product}", "quantity": 1}}]',
                other_shop.clerk_id,
            ),
        )
        conn.execute(
            "SELECT record_payment(%s, %s, 20, 'cash', '', gen_random_uuid(), %s)",
            (other_shop.business_id, theirs, other_shop.clerk_id),
        )
    assert fetch(
        database.admin, "SELECT owed FROM open_dues WHERE business_id = %s", shop.business_id
    ) == [(Decimal("50.00"),)]
    assert ledger_violations(database.admin) == []
