"""The shop's locale decides how money and dates are written, one way on every page: the same
sale in an en_KE shop and in a fr_FR shop, on the receipt, the statement, the overdue list, the
reminder and the sale form's live total (in Chromium). Dates typed or picked next to a date
field, and the hints beside them, follow it too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from tests.browser import sign_in
from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    csrf_token,
    fetch,
    field_errors,
    redate_sale,
    sell,
    signed_in,
)
from webapp.embedded import DatabaseUrls

DUE = date(2026, 3, 31)


@dataclass(frozen=True)
class Sold:
    shop: Shop
    locale: str
    customer: uuid.UUID
    sale: uuid.UUID
    client: FlaskClient

    def money(self, amount: str) -> str:
        return format_currency(Decimal(amount), "KES", locale=self.locale)

    def day(self, day: date) -> str:
        return format_date(day, "medium", locale=self.locale)


def _set_locale(database: DatabaseUrls, shop: Shop, locale: str) -> None:
    fetch(
        database.admin,
        "UPDATE businesses SET locale = %s, currency = 'KES' WHERE id = %s RETURNING id",
        locale,
        shop.business_id,
    )


def _sold(app: Flask, database: DatabaseUrls, shop: Shop, locale: str) -> Sold:
    """A sale of 1,234.50 due on 31 March 2026 (overdue), in a shop of this locale."""
    _set_locale(database, shop, locale)
    customer = add_customer(
        database.admin, shop.business_id, "Wanjiku", credit_limit="5000", phone="+254700000009"
    )
    product = add_product(database.admin, shop.business_id, "Maize flour", price="1234.50")
    sale = sell(app, shop, customer, product, 1)
    redate_sale(database.admin, sale, due_on=DUE)
    return Sold(shop, locale, customer, sale, signed_in(app, shop.slug, shop.owner_email))


@pytest.fixture
def kenyan(app: Flask, database: DatabaseUrls, shop: Shop) -> Sold:
    return _sold(app, database, shop, "en_KE")


@pytest.fixture
def french(app: Flask, database: DatabaseUrls, other_shop: Shop) -> Sold:
    return _sold(app, database, other_shop, "fr_FR")


def test_the_same_sale_is_written_the_shops_way_everywhere(
    database: DatabaseUrls, kenyan: Sold, french: Sold
) -> None:
    # The two ways really differ (else this test could not fail).
    assert kenyan.money("1234.50") == "Ksh1,234.50"
    assert french.money("1234.50") == "1\u202f234,50\xa0KES"
    assert (kenyan.day(DUE), french.day(DUE)) == ("31 Mar 2026", "31 mars 2026")
    for sold, other in ((kenyan, french), (french, kenyan)):
        pages = {
            "receipt": f"/sales/{sold.sale}",
            "statement": f"/customers/{sold.customer}/statement?date_from=2026-01-01",
            "customer": f"/customers/{sold.customer}",
            "overdue": "/overdue",
            "overdue print": "/overdue/print",
        }
        for name, path in pages.items():
            response = sold.client.get(path)
            assert response.status_code == 200, (sold.locale, name)
            page = response.get_data(as_text=True)
            assert sold.money("1234.50") in page, (sold.locale, name)
            assert other.money("1234.50") not in page, (sold.locale, name)
            if name != "statement":  # the statement lists when it was sold, not its due date
                assert sold.day(DUE) in page, (sold.locale, name)
            assert other.day(DUE) not in page, (sold.locale, name)

        # The reminder a customer reads, composed on the server.
        answer = sold.client.post(
            f"/customers/{sold.customer}/remind",
            data={
                "csrf_token": csrf_token(sold.client, f"/customers/{sold.customer}"),
                "channel": "sms",
            },
            headers={"Accept": "application/json"},
        )
        assert answer.status_code == 200
        ((message,),) = fetch(
            database.admin,
            "SELECT message FROM reminders WHERE business_id = %s",
            sold.shop.business_id,
        )
        assert f"{sold.money('1234.50')} on your account has been due since {sold.day(DUE)}" in (
            message
        )


def test_a_swahili_shops_reminder_is_in_swahili_whoever_sends_it(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    sold = _sold(app, database, shop, "sw_KE")
    # The owner reads English pages; the customer still gets the shop's language and formats.
    fetch(
        database.admin, "UPDATE users SET language = 'en' WHERE id = %s RETURNING id", shop.owner_id
    )
    answer = sold.client.post(
        f"/customers/{sold.customer}/remind",
        data={
            "csrf_token": csrf_token(sold.client, f"/customers/{sold.customer}"),
            "channel": "sms",
        },
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200
    ((message,),) = fetch(database.admin, "SELECT message FROM reminders")
    assert message.startswith("Habari Wanjiku")
    assert f"{sold.money('1234.50')}" in message and "31 Mac 2026" in message


def test_date_fields_hint_and_take_dates_the_shops_way(
    database: DatabaseUrls, french: Sold
) -> None:
    path = f"/customers/{french.customer}"
    page = french.client.get(path).get_data(as_text=True)
    assert "Like 31 mars 2026" in page  # the hint beside each date field
    # A picker's ISO date and a date typed the shop's way find the same statement.
    iso = french.client.get(f"{path}?date_from=2026-03-01&date_to=2026-12-31")
    typed = french.client.get(f"{path}?date_from=1+mars+2026&date_to=31/12/2026")
    assert iso.status_code == typed.status_code == 200
    for response in (iso, typed):
        assert "1 mars 2026" in response.get_data(as_text=True)
    # Neither: asked for the shop's way, not "2026-03-31".
    bad = french.client.get(f"{path}?date_from=31+Smarch+2026").get_data(as_text=True)
    assert "Enter a date like 31 mars 2026." in bad
    assert "2026-03-31" not in bad.split("<main", 1)[1].replace('value="2026-03-31"', "")


def test_settings_offer_the_locales_and_refuse_others(
    database: DatabaseUrls, shop: Shop, owner_client: FlaskClient
) -> None:
    page = owner_client.get("/settings").get_data(as_text=True)
    assert '<option value="sw_KE">Kiswahili (Kenya)</option>' in page
    form = {
        "name": shop.name,
        "currency": "KES",
        "timezone": "Africa/Nairobi",
        "credit_days": "30",
        "low_stock_threshold": "5",
        "default_credit_limit": "0",
        "receipt_paper": "a4",
        "api_requests_per_minute": "600",
        "clerk_correction_minutes": "30",
        "csrf_token": csrf_token(owner_client, "/settings"),
    }
    refused = owner_client.post("/settings", data={**form, "locale": "xx_YY"})
    assert refused.status_code == 400
    assert field_errors(refused.get_data(as_text=True), "locale") == [
        "Choose how money and dates are written."
    ]
    assert fetch(
        database.admin, "SELECT locale FROM businesses WHERE id = %s", shop.business_id
    ) == [("en",)]
    saved = owner_client.post("/settings", data={**form, "locale": "en_IN"})
    assert saved.status_code == 302
    assert fetch(
        database.admin, "SELECT locale FROM businesses WHERE id = %s", shop.business_id
    ) == [("en_IN",)]
    log = fetch(database.admin, "SELECT summary FROM activity_log WHERE kind = 'settings'")
    assert ("Money and dates written as: English (en) → English (India) (en_IN)",) in log


@pytest.mark.browser
def test_the_live_total_is_written_as_the_shop_writes_money(
    page: Page, live_server: str, database: DatabaseUrls, shop: Shop
) -> None:
    _set_locale(database, shop, "fr_FR")
    add_customer(database.admin, shop.business_id, "Grace Mensah", credit_limit="9000")
    add_product(database.admin, shop.business_id, "Rice 5 kg", price="1234.50", stock=20)
    sign_in(page, live_server, shop, shop.clerk_email)
    page.goto(f"{live_server}/sales/new")
    page.get_by_label("Customer name or phone").fill("grace")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Sell to Grace Mensah").click()
    page.get_by_label("Product, SKU or barcode").fill("rice")
    page.get_by_role("option", name="Rice 5 kg").click()
    page.get_by_label("Quantity of Rice 5 kg").fill("2")
    expect(page.locator("[data-total]")).to_have_text("2\u202f469,00\xa0KES")
    page.get_by_role("button", name="Record sale").click()
    expect(page.locator(".receipt")).to_contain_text("2\u202f469,00\xa0KES")


@pytest.mark.parametrize(
    "typed", ["1.0000002147483648e+16", "99999999999/1/1", "31/02/2026", "0/0/0", "x" * 500]
)
def test_a_date_that_is_no_date_is_asked_for_again(french: Sold, typed: str) -> None:
    path = f"/customers/{french.customer}"
    response = french.client.get(path, query_string={"date_from": typed})
    assert response.status_code == 200
    assert "Enter a date like 31 mars 2026." in response.get_data(as_text=True)
