"""Changing stock from a product's page: deliveries, damage and counts through the ledger (under
the product's lock), once per form, never below zero, and racing sales without losing any."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from decimal import Decimal

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    at_once,
    csrf_token,
    fetch,
    ledger_violations,
    tenant_session,
)
from webapp import ledger
from webapp.embedded import DatabaseUrls

KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


def _key(client: FlaskClient, product: uuid.UUID) -> str:
    page = client.get(f"/products/{product}").get_data(as_text=True)
    match = KEY.search(page)
    assert match, page
    return match.group(1)


def _change(
    client: FlaskClient,
    product: uuid.UUID,
    reason: str,
    quantity: str,
    *,
    note: str = "",
    key: str | None = None,
) -> object:
    return client.post(
        f"/products/{product}/stock",
        data={
            "csrf_token": csrf_token(client, f"/products/{product}"),
            "idempotency_key": key or _key(client, product),
            "reason": reason,
            "quantity": quantity,
            "note": note,
        },
    )


def _stock(database: DatabaseUrls) -> int:
    return fetch(database.admin, "SELECT stock FROM products")[0][0]


def _movements(database: DatabaseUrls) -> list[tuple[object, ...]]:
    return fetch(
        database.admin,
        "SELECT reason, change, resulting_stock, note FROM stock_movements ORDER BY created_at",
    )


def _followed(client: FlaskClient, response: object) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)  # type: ignore[attr-defined]
    return client.get(response.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]


def test_a_delivery_adds_and_is_in_the_history(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice", stock=10)
    response = _change(owner_client, product, "delivery", "12", note="Invoice 4471")
    page = _followed(owner_client, response)
    assert "Delivery recorded. Stock is now 22." in page
    assert _stock(database) == 22
    assert _movements(database)[-1] == ("delivery", 12, 22, "Invoice 4471")
    assert fetch(
        database.admin, "SELECT created_by FROM stock_movements WHERE reason = 'delivery'"
    ) == [(shop.owner_id,)]
    assert "+12" in page and "Invoice 4471" in page
    assert ledger_violations(database.admin) == []


def test_damage_removes(owner_client: FlaskClient, database: DatabaseUrls, shop: Shop) -> None:
    product = add_product(database.admin, shop.business_id, "Eggs", stock=30)
    page = _followed(owner_client, _change(owner_client, product, "damage", "4", note="Dropped"))
    assert "Damage recorded. Stock is now 26." in page
    assert _movements(database)[-1] == ("damage", -4, 26, "Dropped")
    assert "−4" in page
    assert ledger_violations(database.admin) == []


def test_a_count_records_the_difference_even_none(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Soap", stock=10)
    page = _followed(owner_client, _change(owner_client, product, "count_correction", "7"))
    assert "Count correction recorded. Stock is now 7." in page
    page = _followed(owner_client, _change(owner_client, product, "count_correction", "15"))
    assert "Stock is now 15." in page
    assert [m[:3] for m in _movements(database)[1:]] == [
        ("count_correction", -3, 7),
        ("count_correction", 8, 15),
    ]

    page = _followed(owner_client, _change(owner_client, product, "count_correction", "15"))
    assert "The count matches: nothing changed. Stock is now 15." in page
    assert [m[:3] for m in _movements(database)[3:]] == [("count_correction", 0, 15)]
    page = _followed(owner_client, _change(owner_client, product, "count_correction", "0"))
    assert _stock(database) == 0
    assert ledger_violations(database.admin) == []


def test_the_same_form_sent_twice_records_once(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice", stock=10)
    key = _key(owner_client, product)
    first = _followed(owner_client, _change(owner_client, product, "delivery", "5", key=key))
    again = _followed(owner_client, _change(owner_client, product, "delivery", "5", key=key))
    assert "Stock is now 15." in first
    assert "That was recorded already. Stock is now 15." in again
    assert _stock(database) == 15
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(2,)]
    # A count sent twice is not counted twice either, even after a sale in between.
    key = _key(owner_client, product)
    _followed(owner_client, _change(owner_client, product, "count_correction", "12", key=key))
    _followed(owner_client, _change(owner_client, product, "count_correction", "12", key=key))
    assert _stock(database) == 12
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(3,)]
    # Every page shows a fresh key: the next change is not taken for the last one.
    assert _key(owner_client, product) != key
    assert ledger_violations(database.admin) == []


def test_stock_cannot_go_below_zero(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice", stock=10)
    response = _change(owner_client, product, "damage", "11")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'id="quantity-error">Only 10 in stock: that would take the stock below zero.' in page
    assert 'value="11"' in page  # what was entered, to correct
    assert _stock(database) == 10
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(1,)]

    _followed(owner_client, _change(owner_client, product, "count_correction", "0"))
    response = _change(owner_client, product, "damage", "1")
    assert response.status_code == 409
    assert "None in stock" in response.get_data(as_text=True)
    assert _stock(database) == 0
    assert ledger_violations(database.admin) == []


@pytest.mark.parametrize(
    ("reason", "quantity", "note", "field", "message"),
    [
        ("delivery", "", "", "quantity", "Enter how many."),
        ("count_correction", " ", "", "quantity", "Enter the stock you counted."),
        ("delivery", "abc", "", "quantity", "Enter a whole number, such as 12."),
        ("damage", "-3", "", "quantity", "Enter a whole number, such as 12."),
        ("delivery", "2.5", "", "quantity", "Enter a whole number, such as 12."),
        ("delivery", "0", "", "quantity", "Enter how many, from 1 up."),
        ("damage", "1000001", "", "quantity", "At most 1,000,000 at a time."),
        ("count_correction", "99999999999", "", "quantity", "Enter a whole number, such as 12."),
        ("count_correction", "1000000001", "", "quantity", "A count is at most 1,000,000,000."),
        ("sale", "3", "", "reason", "Choose why the stock changes."),
        ("opening", "3", "", "reason", "Choose why the stock changes."),
        ("delivery", "3", "n" * 501, "note", "The note is at most 500 characters."),
    ],
)
def test_bad_input_is_explained_next_to_the_field(
    owner_client: FlaskClient,
    database: DatabaseUrls,
    shop: Shop,
    reason: str,
    quantity: str,
    note: str,
    field: str,
    message: str,
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice", stock=10)
    response = _change(owner_client, product, reason, quantity, note=note)
    assert response.status_code == 400
    assert f'<small class="error" id="{field}-error">{message}</small>' in response.get_data(
        as_text=True
    )
    assert _stock(database) == 10
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(1,)]


def test_a_stale_form_is_sent_back(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice", stock=10)
    response = _change(owner_client, product, "delivery", "5", key="garbage")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This form was out of date" in page
    assert KEY.search(page) and KEY.search(page).group(1) != "garbage"  # type: ignore[union-attr]
    assert _stock(database) == 10


def test_a_stock_too_large_to_hold_is_a_message(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Nails", stock=2_147_000_000)
    response = _change(owner_client, product, "delivery", "1000000")
    assert response.status_code == 400
    assert "larger than it can be" in response.get_data(as_text=True)
    assert _stock(database) == 2_147_000_000


def test_an_archived_product_can_still_be_counted(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Old soap", stock=4, active=False)
    page = _followed(owner_client, _change(owner_client, product, "count_correction", "1"))
    assert "Stock is now 1." in page
    assert ledger_violations(database.admin) == []


def test_restocks_and_damage_racing_sales_lose_nothing(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    """Tills selling, owners receiving deliveries and writing off damage, on the same products
    at the same moment, some forms sent twice: the stock never goes below zero, every change
    acknowledged is in the history exactly once, and the history adds up to the stock."""
    opening = 15
    products = [
        add_product(database.admin, shop.business_id, f"P{i}", price="1.00", stock=opening)
        for i in range(3)
    ]
    customers = [
        add_customer(database.admin, shop.business_id, f"C{i}", credit_limit="100000")
        for i in range(4)
    ]
    threads, steps = 12, 12

    def work(index: int) -> list[tuple[str, object, uuid.UUID, int]]:
        """Acknowledged changes: (kind, id of the sale or movement, product, change)."""
        done: list[tuple[str, object, uuid.UUID, int]] = []
        for step in range(steps):
            product = products[(index + step) % len(products)]
            kind = ("sale", "delivery", "damage", "sale")[(index * 7 + step) % 4]
            amount = 1 + (index + 3 * step) % 6
            with tenant_session(app, shop.business_id) as session:
                try:
                    if kind == "sale":
                        sale = ledger.purchase(
                            session,
                            customer_id=customers[index % len(customers)],
                            lines=[ledger.Line(product, amount)],
                            idempotency_key=uuid.uuid4(),
                            user_id=shop.clerk_id,
                        )
                        done.append(("sale", sale.order_id, product, -amount))
                        continue
                    key = uuid.uuid4()
                    change = amount if kind == "delivery" else -amount
                    sends = 2 if step % 3 == 0 else 1  # a double click
                    answers = [
                        ledger.adjust_stock(
                            session,
                            product_id=product,
                            reason=kind,
                            change=change,
                            idempotency_key=key,
                            user_id=shop.owner_id,
                        )
                        for _ in range(sends)
                    ]
                    assert answers[0].created and not any(a.created for a in answers[1:])
                    assert len({a.movement_id for a in answers}) == 1
                    done.append((kind, answers[0].movement_id, product, change))
                except ledger.InsufficientStock:
                    done.append(("refused", None, product, 0))
        return done

    results = at_once(threads, work)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    acknowledged = [entry for result in results for entry in result]  # type: ignore[union-attr]
    kinds = Counter(kind for kind, *_ in acknowledged)
    assert sum(kinds.values()) == threads * steps
    assert kinds["sale"] > 0 and kinds["delivery"] > 0 and kinds["damage"] > 0, kinds

    for product in products:
        expected = opening + sum(c for _, _, p, c in acknowledged if p == product)
        assert fetch(database.admin, "SELECT stock FROM products WHERE id = %s", product) == [
            (expected,)
        ]
        assert expected >= 0
    assert fetch(database.admin, "SELECT min(resulting_stock) FROM stock_movements")[0][0] >= 0

    # Every acknowledged delivery and damage once, and nothing else of theirs.
    adjusted = sorted(str(i) for kind, i, _, _ in acknowledged if kind in ("delivery", "damage"))
    recorded = fetch(
        database.admin,
        "SELECT id::text FROM stock_movements WHERE reason IN ('delivery', 'damage') ORDER BY 1",
    )
    assert [row[0] for row in recorded] == adjusted
    # Every acknowledged sale once, with its one line of history.
    sold = sorted(str(i) for kind, i, _, _ in acknowledged if kind == "sale")
    recorded = fetch(
        database.admin,
        "SELECT order_id::text FROM stock_movements WHERE reason = 'sale' ORDER BY 1",
    )
    assert [row[0] for row in recorded] == sold
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(len(sold),)]
    total_sold = -sum(c for kind, _, _, c in acknowledged if kind == "sale")
    assert fetch(database.admin, "SELECT sum(total) FROM orders") == [
        (Decimal(total_sold).quantize(Decimal("0.01")),)
    ]
    assert ledger_violations(database.admin) == []


def test_a_product_held_by_a_long_sale_answers_busy_and_changes_nothing(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    """Another transaction holds the product's row longer than the lock timeout (5 s): the
    owner is told to try again, nothing is half-done, and the page works again afterwards."""
    product = add_product(database.admin, shop.business_id, "Rice", price="9.50", stock=10)
    key = _key(owner_client, product)
    edit_token = csrf_token(owner_client, f"/products/{product}/edit")
    with psycopg.connect(database.admin) as holder:
        holder.execute("SELECT 1 FROM products WHERE id = %s FOR NO KEY UPDATE", (product,))
        response = _change(owner_client, product, "delivery", "5", key=key)
        assert response.status_code == 409
        assert "Someone is selling this product right now" in response.get_data(as_text=True)
        response = owner_client.post(
            f"/products/{product}/edit",
            data={"csrf_token": edit_token, "name": "Rice", "price": "11.00"},
        )
        assert response.status_code == 400
        assert "Someone is selling this product right now" in response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT stock, price FROM products") == [(10, Decimal("9.50"))]
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(1,)]
    page = _followed(owner_client, _change(owner_client, product, "delivery", "5", key=key))
    assert "Stock is now 15." in page
    assert ledger_violations(database.admin) == []


def test_a_key_used_for_another_products_change_is_refused(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    rice = add_product(database.admin, shop.business_id, "Rice", stock=10)
    salt = add_product(database.admin, shop.business_id, "Salt", stock=10)
    key = uuid.uuid4()

    def deliver(product: uuid.UUID) -> ledger.StockChange:
        with tenant_session(app, shop.business_id) as session:
            return ledger.adjust_stock(
                session,
                product_id=product,
                reason="delivery",
                change=5,
                idempotency_key=key,
                user_id=shop.owner_id,
            )

    assert deliver(rice).created
    with pytest.raises(ledger.IdempotencyKeyReused):
        deliver(salt)
    assert sorted(fetch(database.admin, "SELECT name, stock FROM products")) == [
        ("Rice", 15),
        ("Salt", 10),
    ]
    assert ledger_violations(database.admin) == []
