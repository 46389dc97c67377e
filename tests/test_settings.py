"""Settings: the business's details, currency, time zone, credit days and low-stock level, and
its API tokens (shown once, listed, revoked). Clerks' 403s are in test_staff.py."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
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
    field_errors,
    ledger_violations,
    sell,
)
from webapp.api.common import pending_uses
from webapp.embedded import DatabaseUrls

GOOD = {
    "name": "Alpha Store & Sons",
    "address": "12 Market Street, Nairobi",
    "phone": "+254 700 000000",
    "currency": "kes",
    "timezone": "Africa/Nairobi",
    "credit_days": "14",
    "low_stock_threshold": "3",
    "default_credit_limit": "250.00",
    "receipt_paper": "80mm",
    "api_requests_per_minute": "120",
    "clerk_correction_minutes": "45",
}
BUSINESS_COLUMNS = (
    "name, address, phone, currency, timezone, credit_days, low_stock_threshold,"
    " default_credit_limit, receipt_paper, api_requests_per_minute, clerk_correction_minutes"
)
TOKEN_VALUE = re.compile(r'value="(sc_[A-Za-z0-9_-]+)"')


def input_value(page: str, field_id: str) -> str:
    match = re.search(rf'<input[^>]* id="{field_id}"[^>]* value="([^"]*)"', page)
    assert match, f"no input {field_id}"
    return match.group(1)


def business_row(admin_url: str, shop: Shop) -> tuple[object, ...]:
    return fetch(
        admin_url, f"SELECT {BUSINESS_COLUMNS} FROM businesses WHERE id = %s", shop.business_id
    )[0]


def save(client: FlaskClient, **fields: str) -> object:
    data = {"csrf_token": csrf_token(client, "/settings"), **GOOD, **fields}
    return client.post("/settings", data=data)


def test_the_page_shows_the_current_settings(owner_client: FlaskClient, shop: Shop) -> None:
    page = owner_client.get("/settings").get_data(as_text=True)
    assert input_value(page, "name") == "Alpha Store"
    assert input_value(page, "currency") == "USD"
    assert input_value(page, "timezone") == "UTC"
    assert input_value(page, "credit_days") == "30"
    assert input_value(page, "low_stock_threshold") == "5"
    assert input_value(page, "default_credit_limit") == "0.00"  # 0008: no credit, as before
    assert input_value(page, "api_requests_per_minute") == "600"  # 0013's default
    assert input_value(page, "clerk_correction_minutes") == "30"  # 0015's default
    assert '<option selected value="a4">A4 sheets</option>' in page
    assert shop.slug in page
    assert '<option value="Africa/Nairobi">' in page  # the time zone suggestions


def test_settings_are_saved_and_shown(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    response = save(owner_client)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert response.headers["Location"] == "/settings"  # type: ignore[attr-defined]
    assert business_row(database.admin, shop) == (
        "Alpha Store & Sons",
        "12 Market Street, Nairobi",
        "+254 700 000000",
        "KES",
        "Africa/Nairobi",
        14,
        3,
        Decimal("250.00"),
        "80mm",
        120,
        45,
    )
    page = owner_client.get("/settings").get_data(as_text=True)
    assert "Settings saved." in page
    assert input_value(page, "name") == "Alpha Store &amp; Sons"
    assert "12 Market Street, Nairobi</textarea>" in page
    assert input_value(page, "phone") == "+254 700 000000"
    assert input_value(page, "currency") == "KES"
    assert input_value(page, "timezone") == "Africa/Nairobi"
    assert input_value(page, "credit_days") == "14"
    assert input_value(page, "low_stock_threshold") == "3"
    assert input_value(page, "default_credit_limit") == "250.00"
    assert '<option selected value="80mm">80 mm receipt roll</option>' in page
    assert "<title>Settings · Alpha Store &amp; Sons · ShopCredit</title>" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("currency", "XYZ", "'XYZ' is not a currency code (use three letters, like USD)."),
        ("currency", "dollars", "is not a currency code"),
        ("currency", "", "Enter a currency code, like USD."),
        ("timezone", "Mars/Olympus", "'Mars/Olympus' is not a time zone"),
        ("timezone", "africa/nairobi", "is not a time zone"),
        ("credit_days", "366", "Credit days must be between 0 and 365."),
        ("credit_days", "-1", "Enter a whole number of days from 0 to 365."),
        ("credit_days", "ten", "Enter a whole number of days from 0 to 365."),
        ("credit_days", "1.5", "Enter a whole number of days from 0 to 365."),
        ("low_stock_threshold", "100001", "Enter a whole number of items from 0 to 100000."),
        ("low_stock_threshold", "-3", "Enter a whole number of items from 0 to 100000."),
        ("name", " ", "Enter the business name."),
        ("name", "x" * 121, "At most 120 characters."),
        ("address", "x" * 301, "At most 300 characters."),
        ("phone", "1" * 41, "At most 40 characters."),
        ("default_credit_limit", "-5", "The credit limit for new customers cannot be negative."),
        ("default_credit_limit", "ten", "must be an amount such as 12.50"),
        ("default_credit_limit", "1.999", "has at most 2 decimals"),
        ("receipt_paper", "a5", "Choose the paper of your receipt printer."),
        ("receipt_paper", "", "Choose the paper of your receipt printer."),
        ("clerk_correction_minutes", "1441", "Enter a whole number of minutes from 0 to 1440."),
        ("clerk_correction_minutes", "-1", "Enter a whole number of minutes from 0 to 1440."),
        ("clerk_correction_minutes", "half", "Enter a whole number of minutes from 0 to 1440."),
    ],
)
def test_bad_settings_are_refused_next_to_the_field_and_nothing_changes(
    owner_client: FlaskClient,
    shop: Shop,
    database: DatabaseUrls,
    field: str,
    value: str,
    message: str,
) -> None:
    before = business_row(database.admin, shop)
    response = save(owner_client, **{field: value})
    assert response.status_code == 400  # type: ignore[attr-defined]
    errors = field_errors(response.get_data(as_text=True), field)  # type: ignore[attr-defined]
    assert any(message in error for error in errors), errors
    assert business_row(database.admin, shop) == before


def test_every_bad_setting_is_named_at_once(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    before = business_row(database.admin, shop)
    response = save(owner_client, currency="XYZ", timezone="Nowhere/Land", credit_days="400")
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert field_errors(page, "currency")
    assert field_errors(page, "timezone")
    assert field_errors(page, "credit_days") == ["Credit days must be between 0 and 365."]
    assert business_row(database.admin, shop) == before


def test_zero_credit_days_and_zero_low_stock_are_allowed(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    response = save(owner_client, credit_days="0", low_stock_threshold="0")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert business_row(database.admin, shop)[5:7] == (0, 0)


def test_new_credit_days_apply_to_new_sales_only(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    before = sell(app, shop, customer, product, 1)
    assert save(owner_client, timezone="UTC", credit_days="7").status_code == 302  # type: ignore[attr-defined]
    after = sell(app, shop, customer, product, 1)

    def due(order: uuid.UUID) -> tuple[object, ...]:
        return fetch(
            database.admin,
            "SELECT due_on, (created_at AT TIME ZONE 'UTC')::date FROM orders WHERE id = %s",
            order,
        )[0]

    due_on, made_on = due(before)
    assert due_on == made_on + timedelta(days=30)  # type: ignore[operator]
    due_on, made_on = due(after)
    assert due_on == made_on + timedelta(days=7)  # type: ignore[operator]
    assert ledger_violations(database.admin) == []


# --- API tokens -------------------------------------------------------------------------------


def token_form(client: FlaskClient, name: str = "front till") -> dict[str, str]:
    page = client.get("/settings/tokens").get_data(as_text=True)
    key = page.split('name="idempotency_key" type="hidden" value="', 1)[1].split('"', 1)[0]
    return {
        "csrf_token": csrf_token(client, "/settings/tokens"),
        "idempotency_key": key,
        "name": name,
    }


def overdue_status(app: Flask, token: str) -> int:
    return (
        app.test_client()
        .get("/api/overdue", headers={"Authorization": f"Bearer {token}"})
        .status_code
    )


def test_a_token_is_shown_once_listed_used_and_revoked(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    form = token_form(owner_client)
    made = owner_client.post("/settings/tokens", data=form)
    assert made.status_code == 201
    assert made.headers["Cache-Control"] == "no-store"
    page = made.get_data(as_text=True)
    found = TOKEN_VALUE.findall(page)
    assert len(found) == 1
    token = found[0]
    assert "shown only this once" in page
    assert token not in made.headers.get("Location", "")

    # Stored hashed, in the name of the owner who made it.
    rows = fetch(database.admin, "SELECT name, created_by, token_hash FROM api_tokens")
    assert len(rows) == 1
    assert rows[0][:2] == ("front till", shop.owner_id)
    assert token not in str(rows[0][2])

    assert overdue_status(app, token) == 200
    # A GET writes nothing; its use is noted and written within a minute (or now).
    assert "Never" in owner_client.get("/settings/tokens").get_data(as_text=True)
    with app.app_context():
        pending_uses().flush()

    listed = owner_client.get("/settings/tokens").get_data(as_text=True)
    assert token not in listed  # never again
    assert "front till" in listed
    assert "Olive Owner" in listed
    assert "Never" not in listed  # it has been used

    # The same form sent again (a reload): no second token, and the value is not shown again.
    again = owner_client.post("/settings/tokens", data=form)
    assert again.status_code == 200
    assert token not in again.get_data(as_text=True)
    assert "shown only once" in again.get_data(as_text=True)
    assert fetch(database.admin, "SELECT count(*) FROM api_tokens") == [(1,)]

    token_id = fetch(database.admin, "SELECT id FROM api_tokens")[0][0]
    revoked = owner_client.post(
        f"/settings/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(owner_client, "/settings/tokens")},
    )
    assert revoked.status_code == 302
    assert overdue_status(app, token) == 401
    assert fetch(database.admin, "SELECT revoked_at IS NOT NULL FROM api_tokens") == [(True,)]
    listed = owner_client.get("/settings/tokens").get_data(as_text=True)
    assert "was revoked" in listed
    assert "Revoked " in listed
    assert f"/settings/tokens/{token_id}/revoke" not in listed  # no second revoke button


def test_a_new_token_is_unused_until_used(owner_client: FlaskClient) -> None:
    owner_client.post("/settings/tokens", data=token_form(owner_client))
    assert "Never" in owner_client.get("/settings/tokens").get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Give the token a name, like front till."), ("x" * 81, "At most 80 characters.")],
)
def test_a_token_needs_a_name(
    owner_client: FlaskClient, database: DatabaseUrls, name: str, message: str
) -> None:
    response = owner_client.post("/settings/tokens", data=token_form(owner_client, name))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in field_errors(page, "name")
    assert not TOKEN_VALUE.search(page)
    assert fetch(database.admin, "SELECT count(*) FROM api_tokens") == [(0,)]


def test_another_business_token_cannot_be_revoked_or_seen(
    app: Flask, owner_client: FlaskClient, other_shop: Shop, database: DatabaseUrls
) -> None:
    from tests.helpers import api_auth

    headers = api_auth(app, other_shop.slug)
    token_id = fetch(database.admin, "SELECT id FROM api_tokens")[0][0]
    assert (
        "till"
        not in owner_client.get("/settings/tokens")
        .get_data(as_text=True)
        .split("<h2>Tokens</h2>")[1]
    )
    for target in (token_id, uuid.uuid4()):
        response = owner_client.post(
            f"/settings/tokens/{target}/revoke",
            data={"csrf_token": csrf_token(owner_client, "/settings/tokens")},
        )
        assert response.status_code == 404
    assert fetch(database.admin, "SELECT revoked_at FROM api_tokens") == [(None,)]
    assert app.test_client().get("/api/overdue", headers=headers).status_code == 200
