"""Taking payments, the customer's page and statement, through the pages (no JavaScript)."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    csrf_token,
    fetch,
    pay,
    redate_sale,
    sell,
    tenant_session,
)
from webapp import reports
from webapp.embedded import DatabaseUrls

KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


@pytest.fixture
def owing(app: Flask, database: DatabaseUrls, shop: Shop) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Grace owes 10 + 20 + 30 on three sales; the first two are overdue."""
    customer = add_customer(database.admin, shop.business_id, "Grace Mensah", credit_limit="500")
    product = add_product(database.admin, shop.business_id, "Rice", price="10.00")
    orders = [sell(app, shop, customer, product, quantity) for quantity in (1, 2, 3)]
    for days, order in zip((20, 5, -10), orders, strict=True):
        redate_sale(database.admin, order, -days, created_days_ago=days + 30)
    return customer, orders


def _post_payment(client: FlaskClient, customer: uuid.UUID, **fields: str) -> object:
    path = f"/payments/new?customer={customer}"
    page = client.get(path).get_data(as_text=True)
    key = KEY.search(page)
    assert key, page
    data = {
        "csrf_token": csrf_token(client, path),
        "customer_id": str(customer),
        "idempotency_key": key.group(1),
        "method": "cash",
        "order_id": "",
        "note": "",
    }
    data.update(fields)
    return client.post("/payments/new", data=data)


def test_take_a_payment_and_see_the_receipt(
    clerk_client: FlaskClient, owing: tuple[uuid.UUID, list[uuid.UUID]], database: DatabaseUrls
) -> None:
    customer, (first, second, _) = owing
    response = _post_payment(clerk_client, customer, amount="15.00", method="mobile_money")
    assert response.status_code == 302
    payment_id = fetch(database.admin, "SELECT id FROM payments")[0][0]
    assert response.headers["Location"] == f"/payments/{payment_id}"
    page = clerk_client.get(f"/payments/{payment_id}").get_data(as_text=True)
    for text in (
        "Payment received",
        "Grace Mensah",
        "$15.00",
        "Mobile money",
        "Carl Clerk",
        "$10.00",
        "$5.00",
        "now owes",
        "$45.00",
    ):
        assert text in page, text
    assert f"/sales/{first}" in page and f"/sales/{second}" in page


def test_a_payment_for_a_chosen_sale(
    clerk_client: FlaskClient, owing: tuple[uuid.UUID, list[uuid.UUID]], database: DatabaseUrls
) -> None:
    customer, (_, _, third) = owing
    form = clerk_client.get(f"/payments/new?customer={customer}&sale={third}")
    assert f'<option selected value="{third}">' in form.get_data(as_text=True)
    response = _post_payment(clerk_client, customer, amount="30", order_id=str(third))
    assert response.status_code == 302
    assert fetch(database.admin, "SELECT paid FROM orders WHERE id = %s", third) == [
        (Decimal("30.00"),)
    ]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("60.01", "That is more than Grace Mensah owes ($60.00)."),
        ("0", "The amount must be more than zero."),
        ("-5", "The amount must be more than zero."),
        ("1.234", "The amount can have at most two decimals."),
        ("abc", "Enter an amount like 12.50."),
        ("1000000000000", "The amount is too large."),
        ("", "Enter the amount paid."),
    ],
)
def test_bad_amounts_are_explained_and_nothing_is_recorded(
    clerk_client: FlaskClient,
    owing: tuple[uuid.UUID, list[uuid.UUID]],
    database: DatabaseUrls,
    amount: str,
    message: str,
) -> None:
    customer, _ = owing
    response = _post_payment(clerk_client, customer, amount=amount)
    assert response.status_code in (400, 409)
    assert message in response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT count(*) FROM payments") == [(0,)]


def test_a_resent_payment_records_once(
    clerk_client: FlaskClient, owing: tuple[uuid.UUID, list[uuid.UUID]], database: DatabaseUrls
) -> None:
    customer, _ = owing
    path = f"/payments/new?customer={customer}"
    key = KEY.search(clerk_client.get(path).get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    data = {
        "csrf_token": csrf_token(clerk_client, path),
        "customer_id": str(customer),
        "idempotency_key": key,
        "amount": "5",
        "method": "cash",
    }
    first = clerk_client.post("/payments/new", data=data)
    second = clerk_client.post("/payments/new", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert fetch(database.admin, "SELECT count(*), sum(amount) FROM payments") == [
        (1, Decimal("5.00"))
    ]


def test_tampered_fields_are_refused_cleanly(
    clerk_client: FlaskClient,
    owing: tuple[uuid.UUID, list[uuid.UUID]],
    database: DatabaseUrls,
    other_shop: Shop,
) -> None:
    customer, _ = owing
    assert _post_payment(clerk_client, customer, amount="1", method="cheque").status_code == 400
    bad_sale = _post_payment(clerk_client, customer, amount="1", order_id="nope")
    assert "Choose a sale from the list." in bad_sale.get_data(as_text=True)
    missing = _post_payment(clerk_client, customer, amount="1", order_id=str(uuid.uuid4()))
    assert "That sale was not found." in missing.get_data(as_text=True)
    theirs = add_customer(database.admin, other_shop.business_id, "Not yours")
    assert clerk_client.get(f"/payments/new?customer={theirs}").status_code == 404
    assert fetch(database.admin, "SELECT count(*) FROM payments") == [(0,)]


def test_payments_list_filters_and_totals(
    app: Flask,
    clerk_client: FlaskClient,
    owing: tuple[uuid.UUID, list[uuid.UUID]],
    shop: Shop,
    database: DatabaseUrls,
) -> None:
    customer, _ = owing
    pay(app, shop, customer, Decimal("5.00"))
    pay(app, shop, customer, Decimal("7.50"), method="card")
    page = clerk_client.get("/payments").get_data(as_text=True)
    assert "<strong>2</strong> payments, together <strong>$12.50</strong>" in page
    page = clerk_client.get("/payments?method=card").get_data(as_text=True)
    assert "<strong>1</strong> payment, together <strong>$7.50</strong>" in page
    page = clerk_client.get("/payments?q=nobody").get_data(as_text=True)
    assert "<strong>0</strong> payments" in page
    tomorrow = date.today() + timedelta(days=2)
    page = clerk_client.get(f"/payments?date_from={tomorrow}").get_data(as_text=True)
    assert "<strong>0</strong> payments" in page


def test_the_customer_page_shows_what_is_owed_and_overdue(
    clerk_client: FlaskClient, owing: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    customer, _ = owing
    page = clerk_client.get(f"/customers/{customer}").get_data(as_text=True)
    assert "Grace Mensah" in page
    assert "$60.00" in page  # balance
    assert "$440.00" in page  # available credit
    assert "$30.00" in page  # overdue: 10 + 20
    assert page.count('class="overdue"') == 2
    assert ">20<" in page and ">5<" in page  # days overdue
    assert "Record sale" in page and "Take payment" in page


def test_the_statement_adds_up_for_any_period(
    app: Flask,
    clerk_client: FlaskClient,
    owing: tuple[uuid.UUID, list[uuid.UUID]],
    shop: Shop,
) -> None:
    """Opening + charges − payments = closing, for periods before, across and after."""
    customer, _ = owing
    pay(app, shop, customer, Decimal("15.00"))  # today
    today = date.today()
    periods = {
        "before the history": (today - timedelta(days=400), today - timedelta(days=200)),
        "across all of it": (today - timedelta(days=400), today),
        "the middle": (today - timedelta(days=47), today - timedelta(days=30)),
        "after it": (today + timedelta(days=1), today + timedelta(days=30)),
    }
    expected = {
        "before the history": ("0.00", "0.00", "0.00", "0.00"),
        "across all of it": ("0.00", "60.00", "15.00", "45.00"),
        "the middle": ("10.00", "20.00", "0.00", "30.00"),
        "after it": ("45.00", "0.00", "0.00", "45.00"),
    }
    for name, (start, end) in periods.items():
        with tenant_session(app, shop.business_id) as session:
            statement = reports.statement(session, customer, start, end)
        opening, charges, payments, closing = (Decimal(v) for v in expected[name])
        assert (statement.opening, statement.charges, statement.payments, statement.closing) == (
            opening, charges, payments, closing,
        ), name  # fmt: skip
        assert statement.opening + statement.charges - statement.payments == statement.closing

    page = clerk_client.get(
        f"/customers/{customer}/statement?date_from={today - timedelta(days=400)}&date_to={today}"
    ).get_data(as_text=True)
    assert "Statement of account" in page
    assert "Balance due: <strong>$45.00</strong>" in page
    assert 'class="mainnav"' not in page  # printable: no navigation
