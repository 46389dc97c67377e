"""POST /api/sales/<id>/returns and /void, POST /api/payments/<id>/reversal, GET /api/payments/<id>,
and what GET /api/sales/<id> and POST /api/purchase say about numbers, returns and overrides."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    api_auth,
    fetch,
    ledger_violations,
    pay,
    sell,
)
from webapp.embedded import DatabaseUrls


@pytest.fixture
def sale(app: Flask, database: DatabaseUrls, shop: Shop) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """Customer, product (10.00), and a sale of 3 of it."""
    customer = add_customer(database.admin, shop.business_id, credit_limit="100.00")
    product = add_product(database.admin, shop.business_id, price="10.00", stock=20)
    return customer, product, sell(app, shop, customer, product, 3)


def _post(client: FlaskClient, path: str, body: dict[str, object], auth: dict[str, str]):
    return client.post(path, json=body, headers=auth)


def test_a_return_then_its_replay_then_too_much(
    app: Flask, database: DatabaseUrls, shop: Shop, sale: tuple[uuid.UUID, uuid.UUID, uuid.UUID]
) -> None:
    _, product, order = sale
    client, auth = app.test_client(), api_auth(app, shop.slug)
    body = {
        "items": [{"product_id": str(product), "quantity": 2}],
        "reason": "damaged packs",
        "idempotency_key": str(uuid.uuid4()),
    }
    response = _post(client, f"/api/sales/{order}/returns", body, auth)
    assert response.status_code == 201, response.get_json()
    return_id = fetch(database.admin, "SELECT id FROM returns")[0][0]
    assert response.get_json() == {
        "success": True,
        "return_id": str(return_id),
        "number": 1,
        "amount": "20.00",
        "refund": "0.00",
        "balance": "10.00",
    }
    replay = _post(client, f"/api/sales/{order}/returns", body, auth)
    assert (replay.status_code, replay.get_json()) == (200, response.get_json())

    body["idempotency_key"] = str(uuid.uuid4())
    too_much = _post(client, f"/api/sales/{order}/returns", body, auth)
    assert too_much.status_code == 409
    assert too_much.get_json()["error"] == "quantity exceeds what was sold"
    assert (too_much.get_json()["product_id"], too_much.get_json()["returnable"]) == (
        str(product),
        1,
    )

    shown = client.get(f"/api/sales/{order}", headers=auth).get_json()
    assert (shown["number"], shown["status"], shown["returned"], shown["owed"]) == (
        1,
        "open",
        "20.00",
        "10.00",
    )
    assert shown["returns"] == [
        {
            "return_id": str(return_id),
            "number": 1,
            "void": False,
            "amount": "20.00",
            "refund": "0.00",
        }
    ]


def test_a_void_and_what_is_left(
    app: Flask, database: DatabaseUrls, shop: Shop, sale: tuple[uuid.UUID, uuid.UUID, uuid.UUID]
) -> None:
    customer, _, order = sale
    pay(app, shop, customer, Decimal("30.00"))
    client, auth = app.test_client(), api_auth(app, shop.slug)

    no_method = _post(client, f"/api/sales/{order}/void", {"reason": "wrong customer"}, auth)
    assert no_method.status_code == 400
    assert no_method.get_json()["details"]["field"] == "refund_method"
    assert no_method.get_json()["details"]["refund"] == "30.00"

    body = {"reason": "wrong customer", "refund_method": "mobile_money"}
    voided = _post(client, f"/api/sales/{order}/void", body, auth)
    assert voided.status_code == 201
    assert (voided.get_json()["amount"], voided.get_json()["refund"]) == ("30.00", "30.00")
    again = _post(client, f"/api/sales/{order}/void", body, auth)
    assert again.status_code == 409
    assert again.get_json() == {"error": "nothing left to return", "order_id": str(order)}
    assert client.get(f"/api/sales/{order}", headers=auth).get_json()["status"] == "voided"
    assert ledger_violations(database.admin) == []


def test_bad_requests_change_nothing(
    app: Flask, database: DatabaseUrls, shop: Shop, sale: tuple[uuid.UUID, uuid.UUID, uuid.UUID]
) -> None:
    _, product, order = sale
    client, auth = app.test_client(), api_auth(app, shop.slug)
    cases = [
        (f"/api/sales/{order}/returns", {"items": [], "reason": "x"}),
        (f"/api/sales/{order}/returns", {"items": [{"product_id": str(product)}], "reason": ""}),
        (f"/api/sales/{order}/returns", {"amount": 5, "reason": "x"}),
        (f"/api/sales/{order}/returns", {"items": "all", "reason": "x"}),
        (f"/api/sales/{order}/void", {"reason": "x", "refund_method": "gold"}),
        (f"/api/sales/{order}/void", {"reason": "x", "idempotency_key": "nope"}),
    ]
    for path, body in cases:
        response = _post(client, path, body, auth)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"] == "invalid request"
    assert _post(client, "/api/sales/nope/void", {"reason": "x"}, auth).status_code == 404
    unknown = _post(client, f"/api/sales/{uuid.uuid4()}/void", {"reason": "x"}, auth)
    assert unknown.status_code == 404
    assert fetch(database.admin, "SELECT count(*) FROM returns") == [(0,)]


def test_another_shops_sale_is_not_found(
    app: Flask,
    database: DatabaseUrls,
    shop: Shop,
    other_shop: Shop,
    sale: tuple[uuid.UUID, uuid.UUID, uuid.UUID],
) -> None:
    _, _, order = sale
    client, theirs = app.test_client(), api_auth(app, other_shop.slug)
    response = _post(client, f"/api/sales/{order}/void", {"reason": "x"}, theirs)
    assert response.status_code == 404
    assert client.get(f"/api/sales/{order}", headers=theirs).status_code == 404
    assert fetch(database.admin, "SELECT count(*) FROM returns") == [(0,)]


def test_a_clerks_token_may_not_void_an_old_sale_nor_reverse_nor_override(
    app: Flask, database: DatabaseUrls, shop: Shop, sale: tuple[uuid.UUID, uuid.UUID, uuid.UUID]
) -> None:
    customer, product, order = sale
    payment = pay(app, shop, customer, Decimal("5.00"))
    client, auth = app.test_client(), api_auth(app, shop.slug)
    with psycopg.connect(database.admin) as conn:  # the token's maker is a clerk now
        conn.execute("UPDATE users SET role = 'clerk' WHERE id = %s", (shop.owner_id,))

    void = _post(client, f"/api/sales/{order}/void", {"reason": "x"}, auth)
    assert void.status_code == 403  # the clerk did not make this sale
    assert void.get_json()["reason"] == "not_own_sale"
    reversal = _post(client, f"/api/payments/{payment.payment_id}/reversal", {"reason": "x"}, auth)
    assert reversal.status_code == 403
    over = {
        "customer_id": str(customer),
        "items": [{"product_id": str(product), "quantity": 1}],
        "override_reason": "regular",
    }
    assert _post(client, "/api/purchase", over, auth).status_code == 403
    assert fetch(database.admin, "SELECT count(*) FROM returns") == [(0,)]
    assert fetch(database.admin, "SELECT count(*) FROM payment_reversals") == [(0,)]


def test_a_reversal_and_the_payment_as_shown(
    app: Flask, database: DatabaseUrls, shop: Shop, sale: tuple[uuid.UUID, uuid.UUID, uuid.UUID]
) -> None:
    customer, _, order = sale
    payment = pay(app, shop, customer, Decimal("12.00"))
    client, auth = app.test_client(), api_auth(app, shop.slug)

    shown = client.get(f"/api/payments/{payment.payment_id}", headers=auth).get_json()
    assert (shown["number"], shown["reversed"], shown["amount"]) == (1, False, "12.00")
    assert shown["allocations"] == [{"order_id": str(order), "order_number": 1, "amount": "12.00"}]

    body = {"reason": "cheque bounced", "idempotency_key": str(uuid.uuid4())}
    path = f"/api/payments/{payment.payment_id}/reversal"
    reversed_ = _post(client, path, body, auth)
    assert reversed_.status_code == 201
    assert reversed_.get_json() == {"success": True, "number": 1, "balance": "30.00"}
    assert _post(client, path, body, auth).status_code == 200
    body["idempotency_key"] = str(uuid.uuid4())
    twice = _post(client, path, body, auth)
    assert (twice.status_code, twice.get_json()["error"]) == (409, "payment already reversed")
    shown = client.get(f"/api/payments/{payment.payment_id}", headers=auth).get_json()
    assert shown["reversed"] is True
    assert shown["reversal"]["reason"] == "cheque bounced"
    assert client.get(f"/api/payments/{uuid.uuid4()}", headers=auth).status_code == 404
    assert ledger_violations(database.admin) == []


def test_an_owners_token_records_a_sale_over_the_limit_with_a_reason(
    app: Flask, database: DatabaseUrls, shop: Shop, sale: tuple[uuid.UUID, uuid.UUID, uuid.UUID]
) -> None:
    customer, product, _ = sale  # 30.00 owed of 100.00
    client, auth = app.test_client(), api_auth(app, shop.slug)
    body = {"customer_id": str(customer), "items": [{"product_id": str(product), "quantity": 8}]}
    refused = _post(client, "/api/purchase", body, auth)
    assert (refused.status_code, refused.get_json()["error"]) == (409, "credit limit exceeded")
    body["override_reason"] = "wedding order, pays Friday"
    recorded = _post(client, "/api/purchase", body, auth)
    assert recorded.status_code == 201
    assert (recorded.get_json()["number"], recorded.get_json()["overridden"]) == (2, True)
    assert recorded.get_json()["balance"] == "110.00"
    body["items"] = [{"product_id": str(product), "quantity": 0}]
    body["override_reason"] = ""
    assert _post(client, "/api/purchase", body, auth).status_code == 400
    assert ledger_violations(database.admin) == []


@pytest.mark.parametrize("path", ["returns", "void"])
@pytest.mark.parametrize("method", [{}, [], 7])
def test_a_refund_method_that_is_not_text_is_a_400(
    app: Flask,
    database: DatabaseUrls,
    shop: Shop,
    sale: tuple[uuid.UUID, uuid.UUID, uuid.UUID],
    path: str,
    method: object,
) -> None:
    """Found by Schemathesis: refund_method {} was looked up among the payment methods as it
    was, and a dict cannot be (unhashable): the answer was a 500."""
    _, product, order = sale
    body: dict[str, object] = {"reason": "bag was torn", "refund_method": method}
    if path == "returns":
        body["items"] = [{"product_id": str(product), "quantity": 1}]
    response = _post(
        app.test_client(), f"/api/sales/{order}/{path}", body, api_auth(app, shop.slug)
    )
    assert response.status_code == 400
    methods = "cash, card, bank_transfer, mobile_money, other"
    assert response.get_json() == {
        "error": "invalid request",
        "details": {"refund_method": f"one of {methods}, when given"},
    }
    assert fetch(database.admin, "SELECT count(*) FROM returns")[0][0] == 0
