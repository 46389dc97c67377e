"""Phone-sized pages (issue 12): at 390×844 no main page scrolls sideways, what matters on each
list is in view without scrolling right, and the header's Menu opens without JavaScript."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.browser import assert_fits, sign_in
from tests.helpers import (
    ARTIFACTS,
    Shop,
    add_customer,
    add_product,
    pay,
    redate_sale,
    sell,
)
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@dataclass
class Data:
    customer: uuid.UUID
    order: uuid.UUID
    payment: uuid.UUID


def _shop_with_history(app: Flask, shop: Shop, admin_url: str) -> Data:
    """A long name and phone, several products, an overdue sale, a payment: what makes rows wide."""
    customer = add_customer(
        admin_url,
        shop.business_id,
        "Oluwaseun Adebayo-Abernathy Kowalczyk",
        phone="+254 700 111 222",
        credit_limit="99999.00",
    )
    for number in range(30):
        add_customer(admin_url, shop.business_id, f"Grace Mensah {number}", phone="0700000000")
    products = [
        add_product(admin_url, shop.business_id, name, price="1234.50", stock=500)
        for name in ("Extra virgin olive oil, cold pressed, 750 ml", "Rice 5 kg", "Screws")
    ]
    order = sell(app, shop, customer, products[0], 3)
    redate_sale(admin_url, order, -45)
    sell(app, shop, customer, products[1], 2)
    payment = pay(app, shop, customer, "1000.00").payment_id
    with psycopg.connect(admin_url) as conn:  # a long line of the activity log
        conn.execute(
            "INSERT INTO activity_log (business_id, user_id, kind, summary, before, after, reason,"
            " customer_id) VALUES (%s, %s, 'credit_limit', %s, '{\"credit_limit\": \"0.00\"}',"
            ' \'{"credit_limit": "99999.00"}\', %s, %s)',
            (
                shop.business_id,
                shop.owner_id,
                "Credit limit of Oluwaseun Adebayo-Abernathy Kowalczyk: 0.00 → 99,999.00",
                "Agreed with the customer's employer, who guarantees the account in writing",
                customer,
            ),
        )
    return Data(customer, order, payment)


PAGES = {
    "home": "/",
    "new sale: choose a customer": "/sales/new?q=grace",
    "take a payment: choose a customer": "/payments/new",
    "payment form": "/payments/new?customer={customer}",
    "customer page": "/customers/{customer}",
    "statement": "/customers/{customer}/statement",
    "customers": "/customers",
    "overdue": "/overdue",
    "sales": "/sales",
    "payments": "/payments",
    "products": "/products",
    "sale receipt": "/sales/{order}",
    "payment receipt": "/payments/{payment}",
    "activity": "/activity",
}
# On some pages what must be in view (left of the screen's right edge) without scrolling.
IN_VIEW = {
    "overdue": ["button:text('WhatsApp')", "button:text('SMS')", "td[data-label='Overdue']"],
    "statement": ["tbody tr:last-child td[data-label='Balance']"],
    "customer page": ["tbody tr:last-child td[data-label='Balance']", "text=Pay this sale"],
    "customers": ["td[data-label='Available']"],
    "activity": ["td[data-label='Who']", "td[data-label='Reason']"],
    "sale receipt": [".receipt tfoot .total td"],
    "new sale: choose a customer": [".choose-verb"],
}


@pytest.fixture
def phone(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def test_sign_in_fits_a_phone(phone: Page, live_server: str) -> None:
    phone.goto(f"{live_server}/login")
    assert_fits(phone)


@pytest.mark.parametrize("name", list(PAGES))
def test_no_main_page_scrolls_sideways_on_a_phone(
    name: str,
    app: Flask,
    phone: Page,
    live_server: str,
    shop: Shop,
    database: DatabaseUrls,
) -> None:
    data = _shop_with_history(app, shop, database.admin)
    sign_in(phone, live_server, shop, shop.owner_email)
    path = PAGES[name].format(customer=data.customer, order=data.order, payment=data.payment)
    response = phone.goto(f"{live_server}{path}")
    assert response is not None and response.status == 200
    assert_fits(phone)
    for selector in IN_VIEW.get(name, []):
        box = phone.locator(selector).first.bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (selector, box)


def test_the_header_is_one_line_with_a_menu_that_opens_without_javascript(
    browser: Browser, live_server: str, shop: Shop
) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, shop, shop.clerk_email)
        header = page.locator("header.topbar").bounding_box()
        assert header is not None and header["height"] < 70  # one line, not 206 px
        expect(page.get_by_role("navigation", name="Main")).to_be_hidden()

        page.locator("summary", has_text="Menu").click()
        menu = page.get_by_role("navigation", name="Main")
        expect(menu).to_be_visible()
        menu.get_by_role("link", name="Customers").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
        assert_fits(page)

        page.locator("summary", has_text="Menu").click()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in to your shop")).to_be_visible()
    finally:
        context.close()


def test_a_customer_is_chosen_by_tapping_anywhere_on_the_row(
    app: Flask, phone: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    data = _shop_with_history(app, shop, database.admin)
    sign_in(phone, live_server, shop, shop.clerk_email)
    phone.goto(f"{live_server}/payments/new?q=oluwaseun")
    row = phone.locator(".choose-row").first
    phone.get_by_label("Customer name or phone").focus()
    phone.keyboard.press("Tab")  # the Search button, then the first row
    phone.keyboard.press("Tab")
    expect(row).to_be_focused()
    assert row.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # focus shows
    box = row.bounding_box()
    assert box is not None and box["width"] > 300  # the row, not a small button
    phone.tap(".choose-row .choose-figures")  # the money figures, not the name
    expect(phone).to_have_url(f"{live_server}/payments/new?customer={data.customer}")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Take a payment")
