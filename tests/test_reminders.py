"""Reminders that get sent: the shop's text with its fill-ins and payment instructions,
previewed in Settings; choosing WhatsApp or SMS records the reminder with a POST (never a GET)
and answers with the link to open; the customer page and the overdue list show the last one and
the list can leave out those reminded in the last 7 days."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
import pytest
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
)
from webapp.embedded import DatabaseUrls
from webapp.overdue.reminders import reminder_text, template_problem

SETTINGS = {
    "name": "Alpha Store",
    "address": "",
    "phone": "",
    "currency": "KES",
    "timezone": "UTC",
    "credit_days": "30",
    "low_stock_threshold": "5",
    "default_credit_limit": "0",
    "receipt_paper": "a4",
    "api_requests_per_minute": "600",
    "clerk_correction_minutes": "30",
}


@pytest.fixture
def grace(app: Flask, database: DatabaseUrls, shop: Shop) -> uuid.UUID:
    """Grace owes 30.00, overdue for 10 days."""
    customer = add_customer(database.admin, shop.business_id, "Grace", phone="+254700000001")
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00")
    redate_sale(database.admin, sell(app, shop, customer, rice, 3), -10, created_days_ago=40)
    return customer


def _remind(client: FlaskClient, customer: uuid.UUID, channel: str, **headers: str):
    return client.post(
        f"/customers/{customer}/remind",
        data={"csrf_token": csrf_token(client, f"/customers/{customer}"), "channel": channel},
        headers=headers,
    )


def test_the_shops_text_fills_in_its_placeholders() -> None:
    text = reminder_text(
        "Alpha Store",
        "Grace",
        "KES 30.00",
        "Nov 22, 2026",
        template="Habari {name}! {amount} since {due_date}.\n{payment_instructions} — {shop}",
        payment_instructions="M-Pesa till 123456",
    )
    assert text == "Habari Grace! KES 30.00 since Nov 22, 2026.\nM-Pesa till 123456 — Alpha Store"
    assert template_problem("Pay {amont} now") is not None
    assert template_problem("Hello {name") is not None
    assert template_problem("Hello {name}, {amount}") is None


def test_settings_preview_then_save_the_reminder(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    fields = {
        **SETTINGS,
        "payment_instructions": "M-Pesa till 123456",
        "reminder_template": "Hello {name}, please pay {amount}. {payment_instructions}",
    }
    token = csrf_token(owner_client, "/settings")
    preview = owner_client.post(
        "/settings", data={**fields, "csrf_token": token, "action": "preview"}
    )
    page = preview.get_data(as_text=True)
    assert "Hello Grace Mensah, please pay $1,250.00. M-Pesa till 123456" in page
    assert fetch(database.admin, "SELECT reminder_template FROM businesses") == [("",)]  # unsaved
    saved = owner_client.post("/settings", data={**fields, "csrf_token": token})
    assert saved.status_code == 302
    assert fetch(
        database.admin, "SELECT payment_instructions, reminder_template FROM businesses"
    ) == [("M-Pesa till 123456", fields["reminder_template"])]
    bad = owner_client.post(
        "/settings", data={**fields, "csrf_token": token, "reminder_template": "Pay {sum}"}
    )
    assert bad.status_code == 400
    assert (
        "{sum} is not something a reminder can fill in"
        in field_errors(bad.get_data(as_text=True), "reminder_template")[0]
    )


def test_choosing_a_reminder_records_it_and_answers_with_the_link(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop, grace: uuid.UUID
) -> None:
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE businesses SET payment_instructions = 'M-Pesa till 123456'")
    page = clerk_client.get(f"/customers/{grace}").get_data(as_text=True)
    assert f'action="/customers/{grace}/remind"' in page and "https://wa.me/" not in page

    # Without a script: a page with the link to open.
    answer = _remind(clerk_client, grace, "whatsapp")
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert 'href="https://wa.me/254700000001?text=Hello%20Grace' in body
    assert "M-Pesa till 123456" in body
    # With the script: the link as JSON, then the page opens it.
    scripted = _remind(clerk_client, grace, "sms", Accept="application/json")
    assert scripted.get_json()["link"].startswith("sms:+254700000001?body=Hello%20Grace")

    rows = fetch(
        database.admin, "SELECT channel, created_by, message FROM reminders ORDER BY created_at"
    )
    assert [(channel, by) for channel, by, _ in rows] == [
        ("whatsapp", shop.clerk_id),
        ("sms", shop.clerk_id),
    ]
    assert "$30.00 on your account has been due since" in rows[0][2]
    page = clerk_client.get(f"/customers/{grace}").get_data(as_text=True)
    assert "by Carl Clerk, SMS" in page


def test_a_get_never_records_and_bad_requests_change_nothing(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop, grace: uuid.UUID
) -> None:
    assert clerk_client.get(f"/customers/{grace}/remind").status_code == 405
    assert _remind(clerk_client, grace, "pigeon").status_code == 400
    assert _remind(clerk_client, uuid.uuid4(), "sms").status_code == 404
    no_token = clerk_client.post(f"/customers/{grace}/remind", data={"channel": "sms"})
    assert no_token.status_code == 400
    assert fetch(database.admin, "SELECT count(*) FROM reminders") == [(0,)]


def test_the_overdue_list_shows_the_last_reminder_and_can_leave_them_out(
    app: Flask,
    owner_client: FlaskClient,
    database: DatabaseUrls,
    shop: Shop,
    grace: uuid.UUID,
) -> None:
    hassan = add_customer(database.admin, shop.business_id, "Hassan", phone="0700000002")
    rice = add_product(database.admin, shop.business_id, "Beans", price="5.00")
    redate_sale(database.admin, sell(app, shop, hassan, rice, 1), -3, created_days_ago=33)
    _remind(owner_client, grace, "whatsapp")

    page = owner_client.get("/overdue").get_data(as_text=True)
    assert "by Olive Owner, WhatsApp" in page
    filtered = owner_client.get("/overdue?not_reminded=y").get_data(as_text=True)
    assert "Hassan" in filtered and ">Grace<" not in filtered
    # A reminder older than 7 days no longer keeps Grace off the list.
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE reminders SET created_at = now() - interval '8 days'")
    assert ">Grace<" in owner_client.get("/overdue?not_reminded=y").get_data(as_text=True)


def test_another_shops_customer_cannot_be_reminded(
    app: Flask, database: DatabaseUrls, other_shop: Shop, grace: uuid.UUID
) -> None:
    from tests.helpers import signed_in

    theirs = signed_in(app, other_shop.slug, other_shop.owner_email)
    assert _remind(theirs, grace, "sms").status_code == 404
    assert fetch(database.admin, "SELECT count(*) FROM reminders") == [(0,)]


def test_nothing_is_owed_nothing_is_offered(
    app: Flask, clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    paid_up = add_customer(database.admin, shop.business_id, "Paid Up", phone="0700000003")
    assert fetch(database.admin, "SELECT balance FROM customers") == [(Decimal("0.00"),)]
    page = clerk_client.get(f"/customers/{paid_up}").get_data(as_text=True)
    assert f'action="/customers/{paid_up}/remind"' not in page


@pytest.mark.browser
def test_a_tap_on_whatsapp_records_then_opens_it(
    page: Page, live_server: str, database: DatabaseUrls, shop: Shop, grace: uuid.UUID
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, shop, shop.clerk_email)
    page.goto(f"{live_server}/overdue")
    # The window opens on the tap; the script records, then sends it to WhatsApp.
    page.context.route("https://wa.me/**", lambda route: route.fulfill(body="WhatsApp"))
    with page.expect_popup() as opened:
        page.get_by_role("button", name="WhatsApp").click()
    popup = opened.value
    popup.wait_for_url("https://wa.me/**")
    assert popup.url.startswith("https://wa.me/254700000001?text=Hello%20Grace")
    expect(page.locator(".last-reminder")).to_contain_text("Reminded")
    assert fetch(database.admin, "SELECT channel FROM reminders") == [("whatsapp",)]
