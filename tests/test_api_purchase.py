"""POST /api/purchase: token auth, the answers of the issue, nothing written on refusal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Shop, add_customer, add_product, api_auth, fetch
from webapp.embedded import DatabaseUrls


@pytest.fixture
def api(app: Flask, shop: Shop) -> Iterator[tuple[FlaskClient, dict[str, str]]]:
    yield app.test_client(), api_auth(app, shop.slug)


@pytest.fixture
def stock(database: DatabaseUrls, shop: Shop) -> dict[str, uuid.UUID]:
    return {
        "customer": add_customer(database.admin, shop.business_id, credit_limit="100.00"),
        "rice": add_product(database.admin, shop.business_id, "Rice", price="9.50", stock=5),
        "oil": add_product(database.admin, shop.business_id, "Oil", price="3.25", stock=5),
    }


def _body(stock: dict[str, uuid.UUID], **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "customer_id": str(stock["customer"]),
        "items": [
            {"product_id": str(stock["rice"]), "quantity": 2},
            {"product_id": str(stock["oil"]), "quantity": 1},
        ],
    }
    body.update(changes)
    return body


def _orders(database: DatabaseUrls) -> int:
    return fetch(database.admin, "SELECT count(*) FROM orders")[0][0]


def test_a_sale_then_its_replay(
    api: tuple[FlaskClient, dict[str, str]],
    stock: dict[str, uuid.UUID],
    database: DatabaseUrls,
    shop: Shop,
) -> None:
    client, auth = api
    key = str(uuid.uuid4())
    response = client.post("/api/purchase", json=_body(stock, idempotency_key=key), headers=auth)
    assert response.status_code == 201
    body = response.get_json()
    order_id = fetch(database.admin, "SELECT id FROM orders")[0][0]
    due_on = fetch(database.admin, "SELECT due_on FROM orders")[0][0]
    assert body == {
        "success": True,
        "order_id": str(order_id),
        "number": 1,
        "total": "22.25",
        "balance": "22.25",
        "due_on": due_on.isoformat(),
        "overridden": False,
    }
    # Recorded in the name of the token's owner, and marked as coming through the API.
    assert fetch(database.admin, "SELECT created_by, api_token_id IS NOT NULL FROM orders") == [
        (shop.owner_id, True)
    ]

    replay = client.post("/api/purchase", json=_body(stock, idempotency_key=key), headers=auth)
    assert replay.status_code == 200
    assert replay.get_json() == body
    assert _orders(database) == 1
    assert fetch(database.admin, "SELECT last_used_at IS NOT NULL FROM api_tokens") == [(True,)]


def test_refusals(
    api: tuple[FlaskClient, dict[str, str]],
    stock: dict[str, uuid.UUID],
    database: DatabaseUrls,
) -> None:
    client, auth = api
    rice = str(stock["rice"])

    stockout = client.post(
        "/api/purchase",
        json=_body(stock, items=[{"product_id": rice, "quantity": 6}]),
        headers=auth,
    )
    assert stockout.status_code == 409
    assert stockout.get_json() == {
        "error": "insufficient stock",
        "product_id": rice,
        "available": 5,
        "lines": [{"product_id": rice, "requested": 6, "available": 5}],
    }

    fetch(database.admin, "UPDATE customers SET credit_limit = 10 RETURNING id")
    over = client.post("/api/purchase", json=_body(stock), headers=auth)
    assert over.status_code == 409
    assert over.get_json() == {"error": "credit limit exceeded", "available_credit": "10.00"}

    missing = client.post(
        "/api/purchase", json=_body(stock, customer_id=str(uuid.uuid4())), headers=auth
    )
    assert missing.status_code == 404
    assert missing.get_json() == {"error": "customer not found"}

    unknown = str(uuid.uuid4())
    missing = client.post(
        "/api/purchase",
        json=_body(stock, items=[{"product_id": unknown, "quantity": 1}]),
        headers=auth,
    )
    assert missing.status_code == 404
    assert missing.get_json() == {"error": "product not found", "product_id": unknown}
    assert _orders(database) == 0


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        {"items": []},
        {"customer_id": "not-a-uuid", "items": [{"product_id": "x", "quantity": 1}]},
        {"customer_id": 5, "items": [{"product_id": "x", "quantity": 1}]},
        {"items": "rice"},
        {"items": [1, 2]},
        {"idempotency_key": "nope"},
    ],
)
def test_malformed_requests_get_400(
    api: tuple[FlaskClient, dict[str, str]],
    stock: dict[str, uuid.UUID],
    database: DatabaseUrls,
    body: object,
) -> None:
    client, auth = api
    payload = body if not isinstance(body, dict) else {**_body(stock), **body}
    response = client.post("/api/purchase", json=payload, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid request"
    assert _orders(database) == 0


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "abc", 10**12, None])
def test_bad_quantities_get_400_with_the_line(
    api: tuple[FlaskClient, dict[str, str]],
    stock: dict[str, uuid.UUID],
    database: DatabaseUrls,
    quantity: object,
) -> None:
    client, auth = api
    items = [
        {"product_id": str(stock["oil"]), "quantity": 1},
        {"product_id": str(stock["rice"]), "quantity": quantity},
    ]
    response = client.post("/api/purchase", json=_body(stock, items=items), headers=auth)
    assert response.status_code == 400
    details = response.get_json()["details"]
    assert (details["field"], details["line"]) == ("quantity", 2)
    assert _orders(database) == 0


def test_malformed_json_and_wrong_content(
    api: tuple[FlaskClient, dict[str, str]], database: DatabaseUrls
) -> None:
    client, auth = api
    response = client.post(
        "/api/purchase", data="{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid request"
    response = client.post("/api/purchase", data="a=b", headers=auth)
    assert response.status_code == 400


def test_another_business_id_in_the_body_is_forbidden(
    api: tuple[FlaskClient, dict[str, str]],
    stock: dict[str, uuid.UUID],
    database: DatabaseUrls,
    other_shop: Shop,
    shop: Shop,
) -> None:
    client, auth = api
    response = client.post(
        "/api/purchase", json=_body(stock, business_id=str(other_shop.business_id)), headers=auth
    )
    assert response.status_code == 403
    assert _orders(database) == 0
    # Naming its own business is fine.
    response = client.post(
        "/api/purchase", json=_body(stock, business_id=str(shop.business_id)), headers=auth
    )
    assert response.status_code == 201


def test_another_business_records_are_not_found(
    app: Flask, database: DatabaseUrls, stock: dict[str, uuid.UUID], other_shop: Shop
) -> None:
    """A token of business B cannot sell A's customers or products: they do not exist for it."""
    client = app.test_client()
    auth = api_auth(app, other_shop.slug)
    response = client.post("/api/purchase", json=_body(stock), headers=auth)
    assert response.status_code == 404
    assert response.get_json() == {"error": "customer not found"}
    theirs = add_customer(database.admin, other_shop.business_id)
    response = client.post(
        "/api/purchase", json=_body(stock, customer_id=str(theirs)), headers=auth
    )
    assert response.status_code == 404
    assert response.get_json()["error"] == "product not found"
    assert _orders(database) == 0


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer sc_wrong", "Basic dXNlcjpwYXNz", "sc_x", "Bearer " + "x" * 5000],
)
def test_without_a_valid_token_401(
    app: Flask, stock: dict[str, uuid.UUID], database: DatabaseUrls, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = app.test_client().post("/api/purchase", json=_body(stock), headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert _orders(database) == 0


def test_a_revoked_token_is_refused(
    api: tuple[FlaskClient, dict[str, str]], stock: dict[str, uuid.UUID], database: DatabaseUrls
) -> None:
    client, auth = api
    fetch(
        database.admin,
        "UPDATE api_tokens SET revoked_at = now(), revoked_reason = 'revoked' RETURNING id",
    )
    assert client.post("/api/purchase", json=_body(stock), headers=auth).status_code == 401


def test_unknown_api_paths_and_methods_answer_json(
    api: tuple[FlaskClient, dict[str, str]],
) -> None:
    client, auth = api
    response = client.get("/api/purchase", headers=auth)
    assert response.status_code == 405
    assert response.is_json
    response = client.get("/api/nothing", headers=auth)
    assert response.status_code == 404
    assert response.is_json


def test_the_token_is_stored_hashed(app: Flask, shop: Shop, database: DatabaseUrls) -> None:
    token = api_auth(app, shop.slug)["Authorization"].removeprefix("Bearer ")
    stored = fetch(database.admin, "SELECT token_hash FROM api_tokens")[0][0]
    assert token not in stored and len(stored) == 64


def test_a_refusal_for_stock_names_every_short_line(
    api: tuple[FlaskClient, dict[str, str]],
    stock: dict[str, uuid.UUID],
    database: DatabaseUrls,
) -> None:
    client, auth = api
    rice, oil = str(stock["rice"]), str(stock["oil"])
    items = [
        {"product_id": oil, "quantity": 6},
        {"product_id": rice, "quantity": 4},
        {"product_id": rice, "quantity": 3},
    ]
    refused = client.post("/api/purchase", json=_body(stock, items=items), headers=auth)
    assert refused.status_code == 409
    assert refused.get_json() == {
        "error": "insufficient stock",
        "product_id": oil,
        "available": 5,
        "lines": [
            {"product_id": oil, "requested": 6, "available": 5},
            {"product_id": rice, "requested": 7, "available": 5},
        ],
    }
    assert _orders(database) == 0


def test_a_sale_can_be_read_back_with_its_lines_in_the_order_sent(
    api: tuple[FlaskClient, dict[str, str]],
    stock: dict[str, uuid.UUID],
    shop: Shop,
    other_shop: Shop,
    app: Flask,
) -> None:
    client, auth = api
    rice, oil = str(stock["rice"]), str(stock["oil"])
    items = [{"product_id": rice, "quantity": 1}, {"product_id": oil, "quantity": 2}]
    made = client.post("/api/purchase", json=_body(stock, items=items), headers=auth).get_json()

    sale = client.get(f"/api/sales/{made['order_id']}", headers=auth)
    assert sale.status_code == 200
    body = sale.get_json()
    assert body["lines"] == [
        {"product_id": rice, "name": "Rice", "quantity": 1, "unit_price": "9.50",
         "line_total": "9.50"},
        {"product_id": oil, "name": "Oil", "quantity": 2, "unit_price": "3.25",
         "line_total": "6.50"},
    ]  # fmt: skip
    assert (body["id"], body["customer_id"]) == (made["order_id"], str(stock["customer"]))
    assert (body["total"], body["paid"], body["note"]) == ("16.00", "0.00", "")
    assert body["due_on"] == made["due_on"] and body["created_at"]

    other = api_auth(app, other_shop.slug)
    assert client.get(f"/api/sales/{made['order_id']}", headers=other).status_code == 404
    assert client.get(f"/api/sales/{uuid.uuid4()}", headers=auth).status_code == 404
    assert client.get("/api/sales/not-an-id", headers=auth).status_code == 404


def test_a_quick_entry_is_an_amount_and_a_note(
    api: tuple[FlaskClient, dict[str, str]],
    stock: dict[str, uuid.UUID],
    database: DatabaseUrls,
) -> None:
    client, auth = api
    body = {"customer_id": str(stock["customer"]), "amount": "60.00", "note": "goods, 3 Dec"}
    made = client.post("/api/purchase", json=body, headers=auth)
    assert made.status_code == 201
    assert made.get_json()["total"] == "60.00" and made.get_json()["balance"] == "60.00"
    sale = client.get(f"/api/sales/{made.get_json()['order_id']}", headers=auth).get_json()
    assert (sale["lines"], sale["note"], sale["total"]) == ([], "goods, 3 Dec", "60.00")

    over = client.post("/api/purchase", json={**body, "amount": "40.01"}, headers=auth)
    assert over.status_code == 409
    assert over.get_json() == {"error": "credit limit exceeded", "available_credit": "40.00"}
    assert _orders(database) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "5.00", "note": "goods"}, "items"),  # items and an amount: never both
        ({"items": None, "amount": "5.00"}, "note"),
        ({"items": None, "amount": "5.00", "note": " "}, "note"),
        ({"items": None, "amount": "5.00", "note": "x" * 201}, "note"),
        ({"items": None, "amount": 5, "note": "goods"}, "amount"),
        ({"items": None, "amount": "five", "note": "goods"}, "amount"),
        ({"items": None, "amount": "0", "note": "goods"}, "amount"),
        ({"items": None, "amount": "1.005", "note": "goods"}, "amount"),
    ],
)
def test_a_quick_entry_without_what_it_needs_is_a_400(
    api: tuple[FlaskClient, dict[str, str]],
    stock: dict[str, uuid.UUID],
    database: DatabaseUrls,
    changes: dict[str, object],
    field: str,
) -> None:
    client, auth = api
    body = {key: value for key, value in _body(stock, **changes).items() if value is not None}
    refused = client.post("/api/purchase", json=body, headers=auth)
    assert refused.status_code == 400, refused.get_json()
    details = refused.get_json()["details"]
    assert field in details or details.get("field") == field, details
    assert _orders(database) == 0


def test_a_key_sent_again_with_a_different_request_is_refused(
    api: tuple[FlaskClient, dict[str, str]],
    stock: dict[str, uuid.UUID],
    database: DatabaseUrls,
) -> None:
    """The same key must come with the same request: never "success" with the first sale."""
    client, auth = api
    key = str(uuid.uuid4())
    rice = str(stock["rice"])
    one = _body(stock, items=[{"product_id": rice, "quantity": 1}], idempotency_key=key)
    first = client.post("/api/purchase", json=one, headers=auth)
    assert first.status_code == 201
    reused = {
        "quantity 99": {**one, "items": [{"product_id": rice, "quantity": 99}]},
        "another product": {**one, "items": [{"product_id": str(stock["oil"]), "quantity": 1}]},
        "an amount": {"customer_id": one["customer_id"], "amount": "1.00", "note": "x",
                      "idempotency_key": key},
        "a note": {**one, "note": "changed"},
    }  # fmt: skip
    for what, body in reused.items():
        answer = client.post("/api/purchase", json=body, headers=auth)
        assert answer.status_code == 409, what
        assert answer.get_json() == {
            "error": "idempotency key already used for a different request"
        }, what
    # The same request again (its lines in another order, split): the first answer, 200.
    split = {**one, "items": [{"product_id": rice, "quantity": 1}]}
    again = client.post("/api/purchase", json=split, headers=auth)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert _orders(database) == 1
