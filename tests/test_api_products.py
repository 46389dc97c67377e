"""GET/POST /api/products and GET /api/products/<id>: token auth, the form's rules, a POST sent
again makes one product, another business's products are not there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Shop, add_product, api_auth, at_once, fetch, ledger_violations
from webapp.embedded import DatabaseUrls

Api = tuple[FlaskClient, dict[str, str]]


@pytest.fixture
def api(app: Flask, shop: Shop) -> Iterator[Api]:
    yield app.test_client(), api_auth(app, shop.slug)


def _count(database: DatabaseUrls) -> int:
    return fetch(database.admin, "SELECT count(*) FROM products")[0][0]


def test_add_a_product(api: Api, database: DatabaseUrls, shop: Shop) -> None:
    client, auth = api
    body = {"name": "Rice 5 kg", "sku": "RICE-5", "price": "9.50", "stock": 12}
    response = client.post("/api/products", json=body, headers=auth)
    assert response.status_code == 201
    product_id = fetch(database.admin, "SELECT id FROM products")[0][0]
    assert response.get_json() == {
        "id": str(product_id),
        "name": "Rice 5 kg",
        "sku": "RICE-5",
        "barcode": None,
        "price": "9.50",
        "stock": 12,
        "is_active": True,
    }
    assert fetch(
        database.admin, "SELECT reason, change, resulting_stock, created_by FROM stock_movements"
    ) == [("opening", 12, 12, shop.owner_id)]
    # Numbers as JSON numbers, no SKU, no stock.
    response = client.post("/api/products", json={"name": "Salt", "price": 1.5}, headers=auth)
    assert response.status_code == 201
    assert response.get_json()["price"] == "1.50"
    assert response.get_json()["sku"] is None and response.get_json()["stock"] == 0
    assert ledger_violations(database.admin) == []


def test_the_same_post_sent_again_makes_one_product(api: Api, database: DatabaseUrls) -> None:
    client, auth = api
    key = str(uuid.uuid4())
    body = {"name": "Oil", "price": "3.20", "stock": 4, "idempotency_key": key}
    first = client.post("/api/products", json=body, headers=auth)
    again = client.post("/api/products", json=body, headers=auth)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()
    # The id is the server's; the key is kept beside it.
    assert fetch(database.admin, "SELECT id::text, idempotency_key::text FROM products") == [
        (first.get_json()["id"], key)
    ]
    other = client.post("/api/products", json={**body, "price": "3.30"}, headers=auth)
    assert other.status_code == 409
    assert other.get_json() == {"error": "idempotency key already used for a different request"}
    assert _count(database) == 1
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(1,)]


def test_many_tills_sending_the_same_post_at_once_make_one_product(
    app: Flask, api: Api, database: DatabaseUrls
) -> None:
    _, auth = api
    body = {"name": "Oil", "price": "3.20", "stock": 4, "idempotency_key": str(uuid.uuid4())}
    responses = at_once(
        6, lambda _: app.test_client().post("/api/products", json=body, headers=auth)
    )
    statuses = sorted(r.status_code for r in responses)  # type: ignore[union-attr]
    assert statuses == [200] * 5 + [201], responses
    [(made,)] = fetch(database.admin, "SELECT id::text FROM products")
    assert {r.get_json()["id"] for r in responses} == {made}  # type: ignore[union-attr]
    assert ledger_violations(database.admin) == []


def test_a_sku_already_used_is_a_conflict_naming_the_product(
    api: Api, database: DatabaseUrls
) -> None:
    client, auth = api
    first = client.post(
        "/api/products", json={"name": "Rice", "sku": "RICE-5", "price": "9"}, headers=auth
    )
    assert first.status_code == 201
    # Any case; and a till that sent no key and resends learns which product it made.
    for sku in ("RICE-5", "rice-5"):
        response = client.post(
            "/api/products", json={"name": "Rice", "sku": sku, "price": "9"}, headers=auth
        )
        assert response.status_code == 409
        assert response.get_json() == {
            "error": "sku already used",
            "details": {"sku": "Rice already has this SKU; each product needs its own."},
            "product_id": first.get_json()["id"],
        }
    assert _count(database) == 1


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"price": "1"}, {"name": "Enter the product's name."}),
        ({"name": 5, "price": "1"}, {"name": "The name must be text."}),
        ({"name": "A"}, {"price": "Enter the price, such as 12.50."}),
        (
            {"name": "A", "price": "12,5.0.1"},
            {"price": "The price must be an amount such as 12.50."},
        ),
        ({"name": "A", "price": -2}, {"price": "The price cannot be negative."}),
        (
            {"name": "A", "price": "3,50"},
            {
                "price": "Write the price with a point before the cents, such as 3.50 "
                "(a comma there would be read as thousands)."
            },
        ),
        (
            {"name": "A", "price": "1", "stock": -1},
            {"stock": "The stock is a whole number from 0 up."},
        ),
        (
            {"name": "A", "price": "1", "stock": 1.5},
            {"stock": "The stock is a whole number from 0 up."},
        ),
        (
            {"name": "A", "price": "1", "stock": True},
            {"stock": "The stock is a whole number from 0 up."},
        ),
        ({"name": "A", "price": "1", "sku": ["x"]}, {"sku": "The SKU must be text."}),
        (
            {"name": "", "price": "x", "stock": "many"},
            {
                "name": "Enter the product's name.",
                "price": "The price must be an amount such as 12.50.",
                "stock": "The stock is a whole number from 0 up.",
            },
        ),
        (
            {"name": "A", "price": "1", "idempotency_key": "abc"},
            {"idempotency_key": "must be a UUID when given"},
        ),
    ],
)
def test_bad_input_says_what_is_wrong(
    api: Api, database: DatabaseUrls, body: dict[str, object], details: dict[str, str]
) -> None:
    client, auth = api
    response = client.post("/api/products", json=body, headers=auth)
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid request", "details": details}
    assert _count(database) == 0


def test_a_body_that_is_not_an_object_or_for_another_business(
    api: Api, database: DatabaseUrls, other_shop: Shop
) -> None:
    client, auth = api
    response = client.post(
        "/api/products", data="[1]", headers=auth, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid request",
        "details": "the body must be a JSON object",
    }
    response = client.post(
        "/api/products",
        json={"name": "A", "price": "1", "business_id": str(other_shop.business_id)},
        headers=auth,
    )
    assert response.status_code == 403
    assert _count(database) == 0


def test_only_an_owners_token_adds_products(api: Api, database: DatabaseUrls, shop: Shop) -> None:
    client, auth = api
    fetch(
        database.admin, "UPDATE users SET role = 'clerk' WHERE id = %s RETURNING id", shop.owner_id
    )
    response = client.post("/api/products", json={"name": "A", "price": "1"}, headers=auth)
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    assert _count(database) == 0
    assert client.get("/api/products", headers=auth).status_code == 200  # reading is fine


def test_without_a_token_nothing_is_answered(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice")
    client = app.test_client()
    for response in (
        client.get("/api/products"),
        client.get(f"/api/products/{product}"),
        client.post("/api/products", json={"name": "A", "price": "1"}),
        client.get("/api/products", headers={"Authorization": "Bearer sc_wrong"}),
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.get_json()["error"] == "unauthorized"
    assert _count(database) == 1


def _names(response: object) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)  # type: ignore[attr-defined]
    return [p["name"] for p in response.get_json()["products"]]  # type: ignore[attr-defined]


def test_list_search_low_stock_archived_and_pages(
    api: Api, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    client, auth = api
    fetch(database.admin, "UPDATE businesses SET low_stock_threshold = 5 RETURNING id")
    rice = add_product(database.admin, shop.business_id, "Rice", price="9.50", stock=3)
    fetch(database.admin, "UPDATE products SET sku = 'GR-1' WHERE id = %s RETURNING id", rice)
    add_product(database.admin, shop.business_id, "Beans", stock=40)
    add_product(database.admin, shop.business_id, "Candles", stock=0, active=False)
    add_product(database.admin, other_shop.business_id, "Their rice", stock=1)

    response = client.get("/api/products", headers=auth)
    assert response.get_json() == {
        "products": [
            {
                "id": response.get_json()["products"][0]["id"],
                "name": "Beans",
                "sku": None,
                "barcode": None,
                "price": "10.00",
                "stock": 40,
                "is_active": True,
            },
            {
                "id": str(rice),
                "name": "Rice",
                "sku": "GR-1",
                "barcode": None,
                "price": "9.50",
                "stock": 3,
                "is_active": True,
            },
        ],
        "page": 1,
        "limit": 50,
        "has_more": False,
        "count": 2,
    }
    assert _names(client.get("/api/products?q=rice", headers=auth)) == ["Rice"]
    assert _names(client.get("/api/products?q=gr-", headers=auth)) == ["Rice"]
    assert _names(client.get("/api/products?low_stock=1", headers=auth)) == ["Rice"]
    assert _names(client.get("/api/products?include_archived=true", headers=auth)) == [
        "Beans",
        "Candles",
        "Rice",
    ]
    paged = client.get("/api/products?include_archived=1&limit=2&page=2", headers=auth)
    assert _names(paged) == ["Rice"]
    assert paged.get_json()["has_more"] is False and paged.get_json()["count"] == 3
    first = client.get("/api/products?include_archived=1&limit=2", headers=auth)
    assert first.get_json()["has_more"] is True


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=-1", "page"),
        ("page=9999999", "page"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=1e3", "limit"),
        ("low_stock=maybe", "low_stock"),
        ("include_archived=2", "include_archived"),
    ],
)
def test_list_refuses_odd_parameters(api: Api, query: str, field: str) -> None:
    client, auth = api
    response = client.get(f"/api/products?{query}", headers=auth)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid request"
    assert list(response.get_json()["details"]) == [field]


def test_one_product_and_another_business_product(
    api: Api, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    client, auth = api
    mine = add_product(database.admin, shop.business_id, "Rice", price="9.50", stock=7)
    theirs = add_product(database.admin, other_shop.business_id, "Their rice")
    response = client.get(f"/api/products/{mine}", headers=auth)
    assert response.status_code == 200
    assert response.get_json() == {
        "id": str(mine),
        "name": "Rice",
        "sku": None,
        "barcode": None,
        "price": "9.50",
        "stock": 7,
        "is_active": True,
    }
    for other in (theirs, uuid.uuid4(), "not-an-id"):
        response = client.get(f"/api/products/{other}", headers=auth)
        assert response.status_code == 404
        assert response.get_json() == {"error": "product not found"}
    # Their token sees theirs only.
    their_auth = api_auth(client.application, other_shop.slug)
    assert _names(client.get("/api/products", headers=their_auth)) == ["Their rice"]
    assert fetch(database.admin, "SELECT price FROM products WHERE id = %s", mine) == [
        (Decimal("9.50"),)
    ]


def test_a_key_that_is_another_business_product_id_makes_a_new_product(
    api: Api, database: DatabaseUrls, other_shop: Shop
) -> None:
    """Ids are per business: a key equal to another business's product id reveals nothing."""
    client, auth = api
    theirs = add_product(database.admin, other_shop.business_id, "Their rice")
    body = {"name": "Mine", "price": "1", "idempotency_key": str(theirs)}
    response = client.post("/api/products", json=body, headers=auth)
    assert response.status_code == 201
    assert response.get_json()["name"] == "Mine"
    assert fetch(database.admin, "SELECT name FROM products ORDER BY name") == [
        ("Mine",),
        ("Their rice",),
    ]
