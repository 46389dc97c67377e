"""Customers at the counter (issue 12): the chooser says when it shows only some of the matches
and each row is one link; a shop's default credit limit for new customers; and why a customer
has no credit, said where a sale is offered."""

from __future__ import annotations

import html
import re
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
    csrf_token,
    fetch,
    sell,
    tenant_session,
)
from webapp.customers import operations
from webapp.embedded import DatabaseUrls

KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')
ROW_LINKS = re.compile(r'<a class="choose-row" href="([^"]+)">')


def _text(client: FlaskClient, path: str) -> str:
    return html.unescape(client.get(path).get_data(as_text=True))


def _plain(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def _set_default_limit(admin_url: str, shop: Shop, limit: str) -> None:
    fetch(
        admin_url,
        "UPDATE businesses SET default_credit_limit = %s WHERE id = %s RETURNING id",
        Decimal(limit),
        shop.business_id,
    )


def _add(client: FlaskClient, **fields: str) -> object:
    page = client.get("/customers/new").get_data(as_text=True)
    match = KEY.search(page)
    assert match, page
    data = {"csrf_token": csrf_token(client, "/customers/new"), "idempotency_key": match[1]}
    return client.post("/customers/new", data={**data, **fields})


# --- the chooser ---------------------------------------------------------------------------


def test_the_chooser_says_how_many_match_when_it_shows_only_some(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    for number in range(25):
        add_customer(database.admin, shop.business_id, f"Grace {number:02d}")
    add_customer(database.admin, shop.business_id, "Hassan Otieno")

    page = _text(clerk_client, "/sales/new?q=grace")
    assert "Showing 20 of 25 — type more" in page
    assert len(ROW_LINKS.findall(page)) == 20

    page = _text(clerk_client, "/sales/new?q=grace 2")  # Grace 20 … Grace 24
    assert "Showing" not in page and "5 customers match “grace 2”." in page
    assert len(ROW_LINKS.findall(page)) == 5

    page = _text(clerk_client, "/payments/new")  # everyone, archived ones too
    assert "Showing 20 of 26 — type more" in page


def test_each_chooser_row_is_one_link_to_the_sale_or_payment(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    grace = add_customer(database.admin, shop.business_id, "Grace Mensah", phone="0700111222")
    page = _text(clerk_client, "/sales/new?q=grace")
    [href] = ROW_LINKS.findall(page)
    assert href == f"/sales/new?customer={grace}"
    row = page[page.index('<a class="choose-row"') : page.index("</a>", page.index("choose-row"))]
    for inside in ("Grace Mensah", "0700111222", "$1,000.00", "Sell to"):
        assert inside in row, inside  # the whole row is the link
    [href] = ROW_LINKS.findall(_text(clerk_client, "/payments/new?q=0700"))
    assert href == f"/payments/new?customer={grace}"


# --- the default credit limit --------------------------------------------------------------


def test_a_clerks_new_customer_gets_the_shops_default_credit_limit(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    _set_default_limit(database.admin, shop, "150.00")
    page = _plain(_text(clerk_client, "/customers/new"))
    assert 'name="credit_limit"' not in page
    assert "New customers get the shop's credit limit for new customers, $150.00." in page

    response = _add(clerk_client, name="Hassan", credit_limit="5000")  # not theirs to set

    assert response.status_code == 302  # type: ignore[attr-defined]
    assert fetch(database.admin, "SELECT name, credit_limit FROM customers") == [
        ("Hassan", Decimal("150.00"))
    ]


def test_an_owners_form_starts_with_the_default_and_the_owner_decides(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    _set_default_limit(database.admin, shop, "150.00")
    page = owner_client.get("/customers/new").get_data(as_text=True)
    assert re.search(r'<input[^>]* id="credit_limit"[^>]* value="150.00"', page), page

    _add(owner_client, name="Grace", credit_limit="40.00")
    _add(owner_client, name="Hassan", credit_limit="0")
    assert fetch(database.admin, "SELECT name, credit_limit FROM customers ORDER BY name") == [
        ("Grace", Decimal("40.00")),
        ("Hassan", Decimal("0.00")),
    ]


def test_the_default_is_set_in_settings_and_applies_to_new_customers_only(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    before = add_customer(database.admin, shop.business_id, "Old Friend", credit_limit="0")
    data = {
        "csrf_token": csrf_token(owner_client, "/settings"),
        "name": shop.name,
        "currency": "USD",
        "timezone": "UTC",
        "credit_days": "30",
        "low_stock_threshold": "5",
        "default_credit_limit": "75.50",
        "receipt_paper": "a4",
        "api_requests_per_minute": "600",
        "clerk_correction_minutes": "30",
    }
    assert owner_client.post("/settings", data=data).status_code == 302
    with tenant_session(app, shop.business_id) as session:
        assert operations.default_credit_limit(session) == Decimal("75.50")
    assert fetch(database.admin, "SELECT credit_limit FROM customers WHERE id = %s", before) == [
        (Decimal("0.00"),)
    ]


def test_an_api_customer_without_a_limit_gets_the_default(
    app: Flask, client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    _set_default_limit(database.admin, shop, "60.00")
    auth = api_auth(app, shop.slug)
    bare = client.post("/api/customers", json={"name": "Chen"}, headers=auth)
    assert bare.status_code == 201 and bare.get_json()["credit_limit"] == "60.00"
    given = client.post("/api/customers", json={"name": "Wei", "credit_limit": "0"}, headers=auth)
    assert given.status_code == 201 and given.get_json()["credit_limit"] == "0.00"


def test_the_default_cannot_be_negative_in_the_database(database: DatabaseUrls, shop: Shop) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        _set_default_limit(database.admin, shop, "-1")
    with pytest.raises(psycopg.errors.CheckViolation):
        fetch(database.admin, "UPDATE businesses SET receipt_paper = 'a5' RETURNING id")


# --- why there is no credit ----------------------------------------------------------------


def test_the_customer_page_says_why_there_is_no_credit_and_who_can_change_it(
    app: Flask, clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    none = add_customer(database.admin, shop.business_id, "No Limit", credit_limit="0")
    full = add_customer(database.admin, shop.business_id, "Full Up", credit_limit="20.00")
    some = add_customer(database.admin, shop.business_id, "Has Some", credit_limit="50.00")
    sell(app, shop, full, add_product(database.admin, shop.business_id, price="10.00"), 2)

    page = _plain(_text(clerk_client, f"/customers/{none}"))
    assert "No credit available: the credit limit is $0.00. An owner can set one on Edit." in page
    page = _plain(_text(clerk_client, f"/customers/{full}"))
    assert "No credit available: Full Up owes $20.00, the whole credit limit." in page
    assert "They must pay before they can buy more on credit." in page
    page = _plain(_text(clerk_client, f"/customers/{some}"))
    assert "No credit available" not in page

    fetch(database.admin, "UPDATE customers SET credit_limit = 5 WHERE id = %s RETURNING id", full)
    page = _plain(_text(clerk_client, f"/customers/{full}"))
    assert "more than the credit limit of $5.00" in page and "pay at least $15.00" in page
