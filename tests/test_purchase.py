"""process_purchase through webapp.ledger: the rules of one sale, on a real PostgreSQL."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from flask import Flask

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    fetch,
    ledger_violations,
    tenant_session,
)
from webapp import ledger
from webapp.embedded import DatabaseUrls

TABLES_WRITTEN = ("orders", "order_items", "stock_movements")


def _sell(
    app: Flask,
    shop: Shop,
    customer_id: uuid.UUID,
    lines: list[tuple[object, object]],
    key: uuid.UUID | None = None,
) -> ledger.Sale:
    with tenant_session(app, shop.business_id) as session:
        return ledger.purchase(
            session,
            customer_id=customer_id,
            lines=[ledger.Line(product, quantity) for product, quantity in lines],  # type: ignore[arg-type]
            idempotency_key=key or uuid.uuid4(),
            user_id=shop.clerk_id,
        )


def _snapshot(database: DatabaseUrls) -> dict[str, object]:
    counts = {t: fetch(database.admin, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES_WRITTEN}
    return {
        **counts,
        "stock": fetch(database.admin, "SELECT id, stock FROM products ORDER BY id"),
        "balances": fetch(database.admin, "SELECT id, balance FROM customers ORDER BY id"),
    }


def test_a_two_product_sale_updates_everything_and_keeps_its_prices(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="100.00")
    rice = add_product(database.admin, shop.business_id, "Rice", price="9.50", stock=10)
    oil = add_product(database.admin, shop.business_id, "Oil", price="3.25", stock=4)

    sale = _sell(app, shop, customer, [(rice, 2), (oil, 3)])

    assert sale.created
    assert sale.total == Decimal("28.75")  # 2 × 9.50 + 3 × 3.25
    assert sale.balance_after == Decimal("28.75")
    assert fetch(database.admin, "SELECT balance FROM customers") == [(Decimal("28.75"),)]
    assert sorted(fetch(database.admin, "SELECT name, stock FROM products")) == [
        ("Oil", 1),
        ("Rice", 8),
    ]
    order = fetch(
        database.admin,
        "SELECT customer_id, total, paid, created_by, due_on - current_date FROM orders",
    )
    assert order == [(customer, Decimal("28.75"), Decimal("0.00"), shop.clerk_id, 30)]
    items = fetch(
        database.admin,
        "SELECT p.name, i.quantity, i.unit_price FROM order_items i "
        "JOIN products p ON p.id = i.product_id ORDER BY p.name",
    )
    assert items == [("Oil", 3, Decimal("3.25")), ("Rice", 2, Decimal("9.50"))]
    movements = fetch(
        database.admin,
        "SELECT p.name, m.change, m.reason, m.resulting_stock, m.order_id FROM stock_movements m "
        "JOIN products p ON p.id = m.product_id WHERE m.reason = 'sale' ORDER BY p.name",
    )
    assert movements == [
        ("Oil", -3, "sale", 1, sale.order_id),
        ("Rice", -2, "sale", 8, sale.order_id),
    ]

    # A later price change leaves the sale as it was.
    fetch(database.admin, "UPDATE products SET price = 99 RETURNING id")
    assert fetch(database.admin, "SELECT total FROM orders") == [(Decimal("28.75"),)]
    assert sorted(fetch(database.admin, "SELECT unit_price FROM order_items")) == [
        (Decimal("3.25"),),
        (Decimal("9.50"),),
    ]
    assert ledger_violations(database.admin) == []


def test_due_date_follows_the_business_credit_days_and_timezone(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    # Kiritimati is UTC+14: its "today" is often tomorrow in UTC.
    fetch(
        database.admin,
        "UPDATE businesses SET credit_days = 7, timezone = 'Pacific/Kiritimati' RETURNING id",
    )
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    sale = _sell(app, shop, customer, [(product, 1)])
    expected = fetch(database.admin, "SELECT (now() AT TIME ZONE 'Pacific/Kiritimati')::date + 7")[
        0
    ][0]
    assert sale.due_on == expected


def test_reaching_the_limit_exactly_is_allowed_one_cent_over_is_not(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="50.00")
    ten = add_product(database.admin, shop.business_id, "Ten", price="10.00")
    cent = add_product(database.admin, shop.business_id, "Cent", price="0.01")

    assert _sell(app, shop, customer, [(ten, 5)]).balance_after == Decimal("50.00")
    before = _snapshot(database)
    with pytest.raises(ledger.CreditLimitExceeded) as refused:
        _sell(app, shop, customer, [(cent, 1)])
    assert refused.value.available_credit == Decimal("0.00")
    assert _snapshot(database) == before


def test_available_credit_is_reported(app: Flask, database: DatabaseUrls, shop: Shop) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="25.00")
    product = add_product(database.admin, shop.business_id, price="10.00")
    _sell(app, shop, customer, [(product, 1)])
    with pytest.raises(ledger.CreditLimitExceeded) as refused:
        _sell(app, shop, customer, [(product, 2)])
    assert refused.value.available_credit == Decimal("15.00")


def test_a_customer_with_no_credit_cannot_buy(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="0")
    product = add_product(database.admin, shop.business_id, price="0.01")
    with pytest.raises(ledger.CreditLimitExceeded):
        _sell(app, shop, customer, [(product, 1)])


def test_stock_sold_to_exactly_zero_then_one_more_is_refused(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, stock=3)
    _sell(app, shop, customer, [(product, 3)])
    assert fetch(database.admin, "SELECT stock FROM products") == [(0,)]
    before = _snapshot(database)
    with pytest.raises(ledger.InsufficientStock) as refused:
        _sell(app, shop, customer, [(product, 1)])
    assert refused.value.product_id == product
    assert refused.value.available == 0
    assert _snapshot(database) == before


def test_two_lines_of_one_product_are_checked_together(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, stock=5)
    before = _snapshot(database)
    with pytest.raises(ledger.InsufficientStock) as refused:
        _sell(app, shop, customer, [(product, 3), (product, 3)])
    assert refused.value.available == 5
    assert _snapshot(database) == before

    sale = _sell(app, shop, customer, [(product, 2), (product, 3)])
    assert fetch(database.admin, "SELECT quantity FROM order_items") == [(5,)]
    assert sale.total == Decimal("50.00")


@pytest.mark.parametrize(
    ("quantity", "line"),
    [(0, 1), (-1, 1), (1.5, 1), ("abc", 1), ("3", 1), (10**12, 1), (None, 1), (True, 1)],
)
def test_bad_quantities_are_refused_and_nothing_is_written(
    app: Flask, database: DatabaseUrls, shop: Shop, quantity: object, line: int
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    before = _snapshot(database)
    with pytest.raises(ledger.InvalidInput) as refused:
        _sell(app, shop, customer, [(product, quantity)])
    assert refused.value.field == "quantity"
    assert refused.value.line == line
    assert "whole number from 1 to 100000" in refused.value.message
    assert _snapshot(database) == before


def test_the_faulty_line_is_named(app: Flask, database: DatabaseUrls, shop: Shop) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    with pytest.raises(ledger.InvalidInput) as refused:
        _sell(app, shop, customer, [(product, 1), (product, 2), ("not-a-uuid", 1)])
    assert (refused.value.field, refused.value.line) == ("product_id", 3)


def test_no_lines_is_refused(app: Flask, database: DatabaseUrls, shop: Shop) -> None:
    customer = add_customer(database.admin, shop.business_id)
    with pytest.raises(ledger.InvalidInput) as refused:
        _sell(app, shop, customer, [])
    assert refused.value.field == "items"


def test_unknown_inactive_and_foreign_products_are_not_found(
    app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    good = add_product(database.admin, shop.business_id, stock=10)
    inactive = add_product(database.admin, shop.business_id, "Old stock", active=False)
    foreign = add_product(database.admin, other_shop.business_id, "Theirs")
    before = _snapshot(database)
    for product in (uuid.uuid4(), inactive, foreign):
        with pytest.raises(ledger.NotFound) as refused:
            _sell(app, shop, customer, [(good, 1), (product, 1)])
        assert (refused.value.entity, refused.value.id) == ("product", product)
    assert _snapshot(database) == before


def test_unknown_and_foreign_customers_are_not_found(
    app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id)
    foreign = add_customer(database.admin, other_shop.business_id, "Their customer")
    before = _snapshot(database)
    for customer in (uuid.uuid4(), foreign):
        with pytest.raises(ledger.NotFound) as refused:
            _sell(app, shop, customer, [(product, 1)])
        assert refused.value.entity == "customer"
    assert _snapshot(database) == before


def test_an_archived_customer_cannot_buy(app: Flask, database: DatabaseUrls, shop: Shop) -> None:
    customer = add_customer(database.admin, shop.business_id, archived=True)
    product = add_product(database.admin, shop.business_id)
    with pytest.raises(ledger.CustomerArchived):
        _sell(app, shop, customer, [(product, 1)])


def test_the_same_key_returns_the_same_sale_and_changes_nothing(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, stock=10)
    key = uuid.uuid4()
    first = _sell(app, shop, customer, [(product, 2)], key)
    after_first = _snapshot(database)
    again = _sell(app, shop, customer, [(product, 2)], key)
    assert again.order_id == first.order_id
    assert not again.created
    assert (again.total, again.balance_after, again.due_on) == (
        first.total,
        first.balance_after,
        first.due_on,
    )
    assert _snapshot(database) == after_first


def test_a_key_of_another_customers_sale_is_refused(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    ann = add_customer(database.admin, shop.business_id, "Ann")
    bob = add_customer(database.admin, shop.business_id, "Bob")
    product = add_product(database.admin, shop.business_id)
    key = uuid.uuid4()
    _sell(app, shop, ann, [(product, 1)], key)
    with pytest.raises(ledger.IdempotencyKeyReused):
        _sell(app, shop, bob, [(product, 1)], key)


def test_keys_are_per_business(
    app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    key = uuid.uuid4()
    for s in (shop, other_shop):
        customer = add_customer(database.admin, s.business_id)
        product = add_product(database.admin, s.business_id)
        assert _sell(app, s, customer, [(product, 1)], key).created


def test_an_unknown_user_writes_nothing(app: Flask, database: DatabaseUrls, shop: Shop) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    before = _snapshot(database)
    with tenant_session(app, shop.business_id) as session, pytest.raises(ledger.InvalidInput):
        ledger.purchase(
            session,
            customer_id=customer,
            lines=[ledger.Line(product, 1)],
            idempotency_key=uuid.uuid4(),
            user_id=uuid.uuid4(),
        )
    assert _snapshot(database) == before


def test_every_short_line_is_named_at_once_in_the_order_entered(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="1000.00")
    salt = add_product(database.admin, shop.business_id, "Salt", price="1.00", stock=1)
    rice = add_product(database.admin, shop.business_id, "Rice", price="1.00", stock=10)
    oil = add_product(database.admin, shop.business_id, "Oil", price="1.00", stock=2)
    before = _snapshot(database)

    with pytest.raises(ledger.InsufficientStock) as refused:
        # Oil is entered first and twice (2 + 1 = 3 > 2); rice has enough; salt is short.
        _sell(app, shop, customer, [(oil, 2), (rice, 5), (salt, 4), (oil, 1)])

    assert refused.value.product_id == oil and refused.value.available == 2
    assert refused.value.lines == [
        ledger.ShortLine(oil, requested=3, available=2),
        ledger.ShortLine(salt, requested=4, available=1),
    ]
    assert _snapshot(database) == before


def test_lines_keep_the_order_they_were_entered_in(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="1000.00")
    names = ["Zucchini", "Apples", "Milk"]
    ids = [add_product(database.admin, shop.business_id, n, price="1.00") for n in names]

    # Milk is entered again at the end: its line keeps the place it was first entered at.
    sale = _sell(app, shop, customer, [(ids[0], 1), (ids[1], 2), (ids[2], 1), (ids[2], 2)])

    rows = fetch(
        database.admin,
        "SELECT p.name, i.quantity, i.line_no FROM order_items i "
        "JOIN products p ON p.id = i.product_id WHERE i.order_id = %s ORDER BY i.line_no",
        sale.order_id,
    )
    assert rows == [("Zucchini", 1, 1), ("Apples", 2, 2), ("Milk", 3, 3)]


def _quick(
    app: Flask, shop: Shop, customer: uuid.UUID, amount: str, note: str, **more: object
) -> ledger.Sale:
    with tenant_session(app, shop.business_id) as session:
        return ledger.purchase(
            session,
            customer_id=customer,
            lines=more.pop("lines", []),  # type: ignore[arg-type]
            idempotency_key=uuid.uuid4(),
            user_id=shop.clerk_id,
            amount=Decimal(amount),
            note=note,
        )


def test_a_quick_entry_is_an_amount_with_a_note_within_the_limit(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="100.00")

    sale = _quick(app, shop, customer, "60.00", "  goods, 3 December ")

    assert sale.created and sale.total == Decimal("60.00") and sale.balance_after == Decimal("60")
    assert fetch(
        database.admin,
        "SELECT total, note, is_opening_balance FROM orders WHERE id = %s",
        sale.order_id,
    ) == [(Decimal("60.00"), "goods, 3 December", False)]
    assert fetch(database.admin, "SELECT count(*) FROM order_items") == [(0,)]
    assert ledger_violations(database.admin) == []

    before = _snapshot(database)
    with pytest.raises(ledger.CreditLimitExceeded) as refused:
        _quick(app, shop, customer, "40.01", "more goods")
    assert refused.value.available_credit == Decimal("40.00")
    assert _snapshot(database) == before


@pytest.mark.parametrize(
    ("amount", "note", "lines", "field"),
    [
        ("10.00", "", False, "note"),
        ("10.00", "   ", False, "note"),
        ("10.00", "x" * 201, False, "note"),
        ("0", "goods", False, "amount"),
        ("-5", "goods", False, "amount"),
        ("1.005", "goods", False, "amount"),
        ("10.00", "goods", True, "items"),
    ],
)
def test_a_quick_entry_is_refused_without_a_note_a_good_amount_or_with_items(
    app: Flask,
    database: DatabaseUrls,
    shop: Shop,
    amount: str,
    note: str,
    lines: bool,
    field: str,
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="100.00")
    rice = add_product(database.admin, shop.business_id, "Rice", price="1.00")
    before = _snapshot(database)
    with pytest.raises(ledger.InvalidInput) as refused:
        _quick(app, shop, customer, amount, note, lines=[ledger.Line(rice, 1)] if lines else [])
    assert refused.value.field == field
    assert _snapshot(database) == before
