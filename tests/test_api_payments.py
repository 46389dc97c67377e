"""POST /api/payments and GET /api/customers/<id>."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    api_auth,
    fetch,
    pay,
    redate_sale,
    sell,
    tenant_session,
)
from webapp import reports
from webapp.embedded import DatabaseUrls


@pytest.fixture
def owing(app: Flask, database: DatabaseUrls, shop: Shop) -> tuple[uuid.UUID, list[uuid.UUID]]:
    customer = add_customer(database.admin, shop.business_id, "Grace", credit_limit="1000.00")
    product = add_product(database.admin, shop.business_id, price="100.00")
    orders = [sell(app, shop, customer, product, quantity) for quantity in (1, 2)]
    redate_sale(database.admin, orders[0], -3)
    return customer, orders


def test_a_payment_then_its_replay(
    app: Flask, shop: Shop, owing: tuple[uuid.UUID, list[uuid.UUID]], database: DatabaseUrls
) -> None:
    customer, (first, second) = owing
    client, auth = app.test_client(), api_auth(app, shop.slug)
    body = {"customer_id": str(customer), "amount": "150.00", "idempotency_key": str(uuid.uuid4())}
    response = client.post("/api/payments", json=body, headers=auth)
    assert response.status_code == 201
    payment_id = fetch(database.admin, "SELECT id FROM payments")[0][0]
    assert response.get_json() == {
        "success": True,
        "payment_id": str(payment_id),
        "number": 1,
        "balance": "150.00",
        "allocations": [
            {"order_id": str(first), "amount": "100.00"},
            {"order_id": str(second), "amount": "50.00"},
        ],
    }
    assert fetch(database.admin, "SELECT method, api_token_id IS NOT NULL FROM payments") == [
        ("cash", True)
    ]
    replay = client.post("/api/payments", json=body, headers=auth)
    assert replay.status_code == 200
    assert replay.get_json() == response.get_json()
    # The same key with another request: refused, never the first payment's "success".
    for changed in (
        {"amount": "15.00"},
        {"method": "card"},
        {"note": "x"},
        {"order_id": str(second)},
    ):
        reused = client.post("/api/payments", json={**body, **changed}, headers=auth)
        assert reused.status_code == 409, changed
        assert reused.get_json() == {
            "error": "idempotency key already used for a different request"
        }
    assert fetch(database.admin, "SELECT count(*) FROM payments") == [(1,)]


def test_aimed_at_a_sale_with_a_method_and_note(
    app: Flask, shop: Shop, owing: tuple[uuid.UUID, list[uuid.UUID]], database: DatabaseUrls
) -> None:
    customer, (_, second) = owing
    body = {
        "customer_id": str(customer),
        "amount": 20,
        "method": "mobile_money",
        "order_id": str(second),
        "note": "M-Pesa ref QX12",
    }
    response = app.test_client().post("/api/payments", json=body, headers=api_auth(app, shop.slug))
    assert response.status_code == 201
    assert response.get_json()["allocations"] == [{"order_id": str(second), "amount": "20.00"}]
    assert fetch(database.admin, "SELECT method, note FROM payments") == [
        ("mobile_money", "M-Pesa ref QX12")
    ]


def test_refusals(
    app: Flask, shop: Shop, owing: tuple[uuid.UUID, list[uuid.UUID]], database: DatabaseUrls
) -> None:
    customer, _ = owing
    client, auth = app.test_client(), api_auth(app, shop.slug)
    over = client.post(
        "/api/payments", json={"customer_id": str(customer), "amount": "300.01"}, headers=auth
    )
    assert over.status_code == 409
    assert over.get_json() == {"error": "payment exceeds balance", "balance": "300.00"}
    missing = client.post(
        "/api/payments", json={"customer_id": str(uuid.uuid4()), "amount": "1"}, headers=auth
    )
    assert missing.status_code == 404
    assert missing.get_json() == {"error": "customer not found"}
    for amount in ("0", "-5", "1.234", "abc", 10**12, None, True, [1]):
        response = client.post(
            "/api/payments", json={"customer_id": str(customer), "amount": amount}, headers=auth
        )
        assert response.status_code == 400, amount
        assert response.get_json()["error"] == "invalid request"
    response = client.post(
        "/api/payments",
        json={"customer_id": str(customer), "amount": "1", "method": "cheque"},
        headers=auth,
    )
    assert response.status_code == 400
    assert fetch(database.admin, "SELECT count(*) FROM payments") == [(0,)]


def test_another_business_is_refused(
    app: Flask,
    shop: Shop,
    other_shop: Shop,
    owing: tuple[uuid.UUID, list[uuid.UUID]],
    database: DatabaseUrls,
) -> None:
    customer, _ = owing
    client = app.test_client()
    theirs = api_auth(app, other_shop.slug)
    response = client.post(
        "/api/payments", json={"customer_id": str(customer), "amount": "1"}, headers=theirs
    )
    assert response.status_code == 404
    assert client.get(f"/api/customers/{customer}", headers=theirs).status_code == 404
    response = client.post(
        "/api/payments",
        json={
            "customer_id": str(customer),
            "amount": "1",
            "business_id": str(other_shop.business_id),
        },
        headers=api_auth(app, shop.slug),
    )
    assert response.status_code == 403
    assert client.get(f"/api/customers/{customer}").status_code == 401
    assert fetch(database.admin, "SELECT count(*) FROM payments") == [(0,)]


def test_customer_figures_agree_with_the_statement(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    """The naive-join trap: limit 1000, sale 400, two payments of 100, then a sale of 500."""
    customer = add_customer(database.admin, shop.business_id, "Ann", credit_limit="1000.00")
    product = add_product(database.admin, shop.business_id, price="100.00")
    first = sell(app, shop, customer, product, 4)
    pay(app, shop, customer, Decimal("100.00"))
    pay(app, shop, customer, Decimal("100.00"))
    sell(app, shop, customer, product, 5)
    redate_sale(database.admin, first, -1)

    response = app.test_client().get(f"/api/customers/{customer}", headers=api_auth(app, shop.slug))
    assert response.status_code == 200
    assert response.get_json() == {
        "id": str(customer),
        "name": "Ann",
        "phone": "",
        "credit_limit": "1000.00",
        "balance": "700.00",
        "available_credit": "300.00",
        "overdue_amount": "200.00",  # the first sale, 400, less the two payments applied to it
    }
    with tenant_session(app, shop.business_id) as session:
        statement = reports.statement(
            session, customer, date.today() - timedelta(days=1), date.today()
        )
    assert statement.closing == Decimal("700.00")
    assert [line.kind for line in statement.lines] == ["sale", "payment", "payment", "sale"]


def test_an_unknown_customer_id_is_404(app: Flask, shop: Shop) -> None:
    client, auth = app.test_client(), api_auth(app, shop.slug)
    assert client.get("/api/customers/not-a-uuid", headers=auth).status_code == 404
    assert client.get(f"/api/customers/{uuid.uuid4()}", headers=auth).get_json() == {
        "error": "customer not found"
    }
