"""GET /api/customers and POST /api/customers."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from flask import Flask

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    api_auth,
    at_once,
    fetch,
    ledger_violations,
    sell,
)
from webapp.embedded import DatabaseUrls


def test_list_customers_with_their_credit(app: Flask, shop: Shop, database: DatabaseUrls) -> None:
    grace = add_customer(
        database.admin, shop.business_id, "Grace", phone="0700", credit_limit="500.00"
    )
    add_customer(database.admin, shop.business_id, "Hassan", credit_limit="0")
    gone = add_customer(database.admin, shop.business_id, "Gone", archived=True)
    sell(app, shop, grace, add_product(database.admin, shop.business_id, price="20.00"), 3)
    client, auth = app.test_client(), api_auth(app, shop.slug)

    response = client.get("/api/customers", headers=auth)

    assert response.status_code == 200
    assert response.get_json() == {
        "customers": [
            {
                "id": str(grace),
                "name": "Grace",
                "phone": "0700",
                "email": "",
                "credit_limit": "500.00",
                "balance": "60.00",
                "available_credit": "440.00",
                "is_archived": False,
            },
            {
                "id": response.get_json()["customers"][1]["id"],
                "name": "Hassan",
                "phone": "",
                "email": "",
                "credit_limit": "0.00",
                "balance": "0.00",
                "available_credit": "0.00",
                "is_archived": False,
            },
        ],
        "page": 1,
        "limit": 50,
        "has_more": False,
        "count": 2,
    }
    everyone = client.get("/api/customers?include_archived=true", headers=auth).get_json()
    assert [c["name"] for c in everyone["customers"]] == ["Gone", "Grace", "Hassan"]
    assert everyone["customers"][0] == {**everyone["customers"][0], "id": str(gone)}
    assert everyone["customers"][0]["is_archived"] is True


def test_search_and_pages(app: Flask, shop: Shop, database: DatabaseUrls) -> None:
    for name, phone in (("Amir", "0711"), ("Bella", "0722"), ("Chen", "0733"), ("Dora", "0744")):
        add_customer(database.admin, shop.business_id, name, phone=phone)
    client, auth = app.test_client(), api_auth(app, shop.slug)

    def names(query: str) -> list[str]:
        response = client.get(f"/api/customers?{query}", headers=auth)
        assert response.status_code == 200, response.get_json()
        return [c["name"] for c in response.get_json()["customers"]]

    assert names("q=bel") == ["Bella"]
    assert names("q=0733") == ["Chen"]
    assert names("q=_") == []  # taken literally
    assert names("limit=3") == ["Amir", "Bella", "Chen"]
    assert names("limit=3&page=2") == ["Dora"]
    first = client.get("/api/customers?limit=3", headers=auth).get_json()
    assert first["has_more"] is True and first["count"] == 4
    last = client.get("/api/customers?limit=3&page=2", headers=auth).get_json()
    assert last["has_more"] is False and last["page"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=1e9", "page"),
        ("include_archived=maybe", "include_archived"),
    ],
)
def test_list_refuses_odd_paging(app: Flask, shop: Shop, query: str, field: str) -> None:
    response = app.test_client().get(f"/api/customers?{query}", headers=api_auth(app, shop.slug))
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid request" and field in body["details"]


def test_create_a_customer(app: Flask, shop: Shop, database: DatabaseUrls) -> None:
    client, auth = app.test_client(), api_auth(app, shop.slug)
    body = {
        "name": "Grace Mensah",
        "phone": "+254700111222",
        "email": "grace@example.com",
        "notes": "Pays on Fridays",
        "credit_limit": "750.50",
    }

    response = client.post("/api/customers", json=body, headers=auth)

    assert response.status_code == 201
    created = response.get_json()
    customer_id = fetch(database.admin, "SELECT id FROM customers")[0][0]
    assert created == {
        "id": str(customer_id),
        "name": "Grace Mensah",
        "phone": "+254700111222",
        "email": "grace@example.com",
        "credit_limit": "750.50",
        "balance": "0.00",
        "available_credit": "750.50",
        "is_archived": False,
    }
    assert fetch(database.admin, "SELECT business_id, notes, credit_limit FROM customers") == [
        (shop.business_id, "Pays on Fridays", Decimal("750.50"))
    ]
    # A number is taken as well as text; no limit means no credit.
    plain = client.post("/api/customers", json={"name": "Hassan", "credit_limit": 20}, headers=auth)
    assert plain.status_code == 201 and plain.get_json()["credit_limit"] == "20.00"
    bare = client.post("/api/customers", json={"name": "Chen"}, headers=auth)
    assert bare.status_code == 201 and bare.get_json()["credit_limit"] == "0.00"


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({}, {"name": "Enter the customer's name."}),
        ({"name": "  "}, {"name": "Enter the customer's name."}),
        ({"name": 12}, {"name": "The name must be text."}),
        (
            {"name": "Grace", "email": "nope", "credit_limit": "-1"},
            {
                "email": "That is not an email address.",
                "credit_limit": "The credit limit cannot be negative.",
            },
        ),
        (
            {"name": "Grace", "credit_limit": "1.999"},
            {"credit_limit": "The credit limit has at most 2 decimals."},
        ),
        (
            {"name": "Grace", "credit_limit": True},
            {"credit_limit": "The credit limit must be an amount such as 12.50."},
        ),
        (
            {"name": "Grace", "phone": "1" * 41},
            {"phone": "The phone number is at most 40 characters."},
        ),
        (
            {"name": "Grace", "idempotency_key": "again"},
            {"idempotency_key": "must be a UUID when given"},
        ),
    ],
)
def test_create_refuses_bad_details(
    app: Flask, shop: Shop, database: DatabaseUrls, body: dict[str, object], details: dict[str, str]
) -> None:
    response = app.test_client().post("/api/customers", json=body, headers=api_auth(app, shop.slug))
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid request", "details": details}
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(0,)]


@pytest.mark.parametrize("body", [[1, 2], "text", None])
def test_create_needs_a_json_object(app: Flask, shop: Shop, body: object) -> None:
    response = app.test_client().post("/api/customers", json=body, headers=api_auth(app, shop.slug))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid request"


def test_a_resent_create_answers_with_the_same_customer(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    client, auth = app.test_client(), api_auth(app, shop.slug)
    key = str(uuid.uuid4())
    body = {"name": "Grace", "credit_limit": "100", "idempotency_key": key}

    first = client.post("/api/customers", json=body, headers=auth)
    again = client.post("/api/customers", json=body, headers=auth)
    other = client.post("/api/customers", json={**body, "name": "Grace M."}, headers=auth)

    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()  # the customer made, unchanged
    # The same key with another request is refused, never answered with the first's result.
    assert other.status_code == 409
    assert other.get_json() == {"error": "idempotency key already used for a different request"}
    made = first.get_json()["id"]
    assert made != key  # the id is the server's; the key is kept beside it
    assert fetch(database.admin, "SELECT id, name, idempotency_key FROM customers") == [
        (uuid.UUID(made), "Grace", uuid.UUID(key))
    ]


def test_a_create_sent_twice_at_once_makes_one_customer(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    auth = api_auth(app, shop.slug)
    body = {"name": "Grace", "credit_limit": "100", "idempotency_key": str(uuid.uuid4())}

    results = at_once(
        4, lambda _: app.test_client().post("/api/customers", json=body, headers=auth)
    )

    statuses = sorted(result.status_code for result in results)  # type: ignore[union-attr]
    assert statuses == [200, 200, 200, 201]
    [(made,)] = fetch(database.admin, "SELECT id FROM customers")
    assert {result.get_json()["id"] for result in results} == {str(made)}  # type: ignore[union-attr]
    assert ledger_violations(database.admin) == []


def test_a_token_whose_maker_is_no_longer_an_owner_sets_no_credit_limit(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    client, auth = app.test_client(), api_auth(app, shop.slug)
    fetch(
        database.admin, "UPDATE users SET role = 'clerk' WHERE id = %s RETURNING id", shop.owner_id
    )

    refused = client.post(
        "/api/customers", json={"name": "Grace", "credit_limit": "900"}, headers=auth
    )
    plain = client.post("/api/customers", json={"name": "Hassan"}, headers=auth)

    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert plain.status_code == 201 and plain.get_json()["credit_limit"] == "0.00"
    assert fetch(database.admin, "SELECT name, credit_limit FROM customers") == [
        ("Hassan", Decimal("0.00"))
    ]


def test_without_a_token_401(app: Flask, shop: Shop, database: DatabaseUrls) -> None:
    add_customer(database.admin, shop.business_id, "Grace")
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer sc_not-a-token"}, {"Authorization": "Basic x"}):
        assert client.get("/api/customers", headers=headers).status_code == 401
        response = client.post("/api/customers", json={"name": "Eve"}, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"
    assert fetch(database.admin, "SELECT name FROM customers") == [("Grace",)]


def test_another_business_is_invisible(
    app: Flask, shop: Shop, other_shop: Shop, database: DatabaseUrls
) -> None:
    theirs = add_customer(database.admin, other_shop.business_id, "Theirs", phone="0700")
    add_customer(database.admin, shop.business_id, "Ours")
    client, auth = app.test_client(), api_auth(app, shop.slug)

    listed = client.get("/api/customers?include_archived=true&q=", headers=auth).get_json()
    assert [c["name"] for c in listed["customers"]] == ["Ours"]
    assert client.get("/api/customers?q=0700", headers=auth).get_json()["customers"] == []

    # Their customer's id as our key makes a customer of ours; theirs is untouched.
    made = client.post(
        "/api/customers", json={"name": "Mine", "idempotency_key": str(theirs)}, headers=auth
    )
    assert made.status_code == 201 and made.get_json()["name"] == "Mine"
    assert sorted(
        fetch(database.admin, "SELECT business_id = %s, name FROM customers", shop.business_id)
    ) == [
        (False, "Theirs"),
        (True, "Mine"),
        (True, "Ours"),
    ]
    forbidden = client.post(
        "/api/customers",
        json={"name": "Sneaky", "business_id": str(other_shop.business_id)},
        headers=auth,
    )
    assert forbidden.status_code == 403
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(3,)]


def test_a_key_equal_to_another_business_customer_id_makes_a_customer_of_its_own(
    app: Flask, shop: Shop, other_shop: Shop, database: DatabaseUrls
) -> None:
    """Ids are the server's: a client cannot make a row whose id it chose (one of another
    business's, say) by sending it as its idempotency key."""
    theirs = add_customer(database.admin, other_shop.business_id, "Theirs")
    client, auth = app.test_client(), api_auth(app, shop.slug)
    made = client.post(
        "/api/customers", json={"name": "Mine", "idempotency_key": str(theirs)}, headers=auth
    )
    assert made.status_code == 201
    assert made.get_json()["id"] != str(theirs)
    assert fetch(database.admin, "SELECT count(*) FROM customers WHERE id = %s", theirs) == [(1,)]
