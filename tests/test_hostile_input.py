"""Input that once reached the database raw: each gets a clear answer, never a 500."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    PASSWORD,
    Shop,
    add_customer,
    add_product,
    api_auth,
    app_config,
    csrf_token,
    fetch,
    sell,
)
from webapp import create_app, ledger
from webapp.embedded import DatabaseUrls


def test_nul_characters_are_refused_plainly(
    app: Flask, clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/login")
    response = anonymous.post(
        "/login",
        data={"csrf_token": token, "business": "a\x00b", "email": "x@y.z", "password": PASSWORD},
    )
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    for path in ("/sales?q=a%00", "/payments?q=%00", "/sales/new?q=%00"):
        assert clerk_client.get(path).status_code == 400, path

    customer = add_customer(database.admin, shop.business_id)
    response = anonymous.post(
        "/api/payments",
        data=f'{{"customer_id": "{customer}", "amount": "1", "note": "a\\u0000b"}}',
        headers={**api_auth(app, shop.slug), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.is_json


def test_a_form_field_without_a_name_is_refused_plainly(owner_client: FlaskClient) -> None:
    """Found by Hypothesis: a multipart part named "\r" reaches the form as a field whose name
    is None, which broke CSRF protection (a 500) before any view ran."""
    for path in ("/import/customers", "/customers/new", "/settings"):
        response = owner_client.post(
            path,
            data={"csrf_token": csrf_token(owner_client, path), "\r": "x"},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400, path
        assert "Something in that request was not right" in response.get_data(as_text=True)


@pytest.mark.parametrize("quantity", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_quantities_are_refused(
    app: Flask, shop: Shop, database: DatabaseUrls, quantity: str
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    item = f'{{"product_id": "{product}", "quantity": {quantity}}}'
    body = f'{{"customer_id": "{customer}", "items": [{item}]}}'
    response = app.test_client().post(
        "/api/purchase",
        data=body,
        headers={**api_auth(app, shop.slug), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid request"
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


@pytest.mark.parametrize("method", [[], {}, 5, None])
def test_a_payment_method_of_the_wrong_type_is_refused(
    app: Flask, shop: Shop, database: DatabaseUrls, method: object
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    response = app.test_client().post(
        "/api/payments",
        json={"customer_id": str(customer), "amount": "1", "method": method},
        headers=api_auth(app, shop.slug),
    )
    assert response.status_code == 400


def test_extreme_dates_and_page_numbers(
    clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    for path in (
        f"/customers/{customer}?date_to=0001-01-01",
        f"/customers/{customer}?date_from=9999-12-31",
        f"/customers/{customer}/statement?date_from=0001-01-01&date_to=9999-12-31",
        "/sales?page=²",
        "/sales?page=99999999999",
        "/payments?page=-1",
    ):
        assert clerk_client.get(path).status_code == 200, path


def test_the_pager_keeps_filters_but_not_routing_switches(
    app: Flask, clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, price="1.00", stock=1000)
    for _ in range(51):
        sell(app, shop, customer, product, 1)
    page = clerk_client.get("/sales?q=Ada&_method=x&_external=1&_anchor=y").get_data(as_text=True)
    assert 'href="/sales?q=Ada&amp;_method=x&amp;_external=1&amp;_anchor=y&amp;page=2"' in page


def test_too_many_sale_lines_are_refused_not_cut(
    clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, price="0.01", stock=100_000)
    path = f"/sales/new?customer={customer}"
    response = clerk_client.post(
        "/sales/new",
        data={
            "csrf_token": csrf_token(clerk_client, path),
            "customer_id": str(customer),
            "idempotency_key": str(uuid.uuid4()),
            "product": [str(product)] * 501,
            "quantity": ["1"] * 501,
        },
    )
    assert response.status_code == 400
    assert "at most 500 lines" in response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


def test_a_deactivated_users_sales_payments_and_tokens_stop(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    auth = api_auth(app, shop.slug)  # made in the owner's name
    fetch(database.admin, "UPDATE users SET is_active = false RETURNING id")
    with pytest.raises(ledger.InvalidInput):
        sell(app, shop, customer, product, 1)
    body = {"customer_id": str(customer), "items": [{"product_id": str(product), "quantity": 1}]}
    assert app.test_client().post("/api/purchase", json=body, headers=auth).status_code == 401
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


def test_a_time_zone_postgresql_does_not_know_is_refused(
    app: Flask, database: DatabaseUrls
) -> None:
    """Python and PostgreSQL each bring their own zone list; a zone only Python knows would
    make every sale of the business fail, so it is refused when the business is made."""
    from zoneinfo import available_timezones

    known_to_postgres = {
        row[0] for row in fetch(database.admin, "SELECT name FROM pg_timezone_names")
    }
    only_python = sorted(available_timezones() - known_to_postgres)
    if not only_python:
        pytest.skip("this server knows every zone Python knows (the case cannot arise here)")
    result = app.test_cli_runner().invoke(
        args=["create-business", "--slug", "shop", "--name", "Shop", "--timezone", only_python[0]]
    )
    assert result.exit_code != 0
    assert "is not a time zone" in result.output
    assert fetch(database.admin, "SELECT count(*) FROM businesses") == [(0,)]


def test_a_database_that_does_not_answer_gets_a_page_that_does_not_need_it(
    database: DatabaseUrls, shop: Shop
) -> None:
    down = "postgresql://shopcredit_app@127.0.0.1:1/shopcredit"
    app = create_app(app_config(database, DATABASE_URL=down, CHECK_DATABASE_ROLE=False))
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{shop.business_id}:{shop.clerk_id}:1"
    response = client.get("/")
    assert response.status_code == 503
    assert "The database is not answering" in response.get_data(as_text=True)
    app.extensions["shopcredit.db"].dispose()


def test_a_member_of_the_owner_role_is_refused_at_start(
    database_server: str, database: DatabaseUrls
) -> None:
    role = "shopcredit_test_member"
    with psycopg.connect(database_server, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN IN ROLE shopcredit_owner")
    try:
        from webapp.db import UnsafeDatabaseRole
        from webapp.embedded import role_url

        dbname = str(psycopg.conninfo.conninfo_to_dict(database.app)["dbname"])
        with pytest.raises(UnsafeDatabaseRole, match="member of their owner"):
            create_app(app_config(database, DATABASE_URL=role_url(database_server, role, dbname)))
    finally:
        with psycopg.connect(database_server, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")
