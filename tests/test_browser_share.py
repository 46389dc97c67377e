"""The shared statement in a real browser: staff share it from the customer's page on a phone,
the customer opens it with no cookies of the shop's at 390 px (nothing scrolls sideways), and
prints it on A4 (readable: the shop, the customer, the lines, what is owed and how to pay)."""

from __future__ import annotations

import io
import uuid

import psycopg
import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from tests.browser import assert_fits, sign_in
from tests.helpers import ARTIFACTS, Shop, add_customer, add_product, pay, redate_sale, sell
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
LONG_NAME = "Oluwaseun Adebayo-Abernathy Kowalczyk"


def _customer_with_history(app: Flask, shop: Shop, admin_url: str) -> uuid.UUID:
    with psycopg.connect(admin_url) as conn:
        conn.execute(
            "UPDATE businesses SET payment_instructions = %s, address = '12 Long Market Road'"
            " WHERE id = %s",
            ("Pay to M-Pesa till 123456, account number your phone number", shop.business_id),
        )
    customer = add_customer(
        admin_url, shop.business_id, LONG_NAME, phone="+254 700 111 222", credit_limit="99999"
    )
    oil = add_product(admin_url, shop.business_id, "Extra virgin olive oil", price="1234.50")
    redate_sale(admin_url, sell(app, shop, customer, oil, 3), -45, created_days_ago=75)
    for _ in range(12):  # a statement longer than one screen
        sell(app, shop, customer, oil, 1)
    pay(app, shop, customer, "1000.00", method="mobile_money")
    return customer


def test_shared_on_a_phone_opened_on_a_phone_and_printed(
    app: Flask, browser: Browser, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    customer = _customer_with_history(app, shop, database.admin)
    staff = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    stranger = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = staff.new_page()
        sign_in(page, live_server, shop, shop.clerk_email)
        page.goto(f"{live_server}/customers/{customer}")
        page.get_by_role("button", name="Share statement").click()
        expect(page.locator(".flash-success")).to_contain_text("A link to the statement was made")
        assert_fits(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#shared-links").screenshot(path=str(ARTIFACTS / "share-links-phone.png"))
        address = page.get_by_label("Link to send").first.input_value()
        assert address.startswith(f"{live_server}/s/")

        shown = stranger.new_page()
        response = shown.goto(address)
        assert response is not None and response.status == 200
        expect(shown.get_by_role("heading", level=1)).to_have_text("Statement of account")
        expect(shown.locator(".statement-head")).to_contain_text(LONG_NAME)
        assert_fits(shown)
        assert shown.locator("a").count() == 0 and shown.locator("form").count() == 0
        assert stranger.cookies() == []
        shown.screenshot(path=str(ARTIFACTS / "share-statement-phone.png"), full_page=True)
        last_balance = shown.locator("tbody tr:last-child td[data-label='Balance']").bounding_box()
        assert last_balance is not None and last_balance["x"] + last_balance["width"] <= 390

        shown.emulate_media(media="print")
        printed = shown.pdf(format="A4", prefer_css_page_size=True)
        (ARTIFACTS / "share-statement.pdf").write_bytes(printed)
        pdf = PdfReader(io.BytesIO(printed))
        text = "\n".join(p.extract_text() for p in pdf.pages)
        for expected in (
            shop.name,
            "12 Long Market Road",
            "Statement of account",
            LONG_NAME,
            "Sale 13",
            "Payment 1",
            "How to pay",
            "M-Pesa till 123456",
            "$17,517.50",  # owed today: 15 × 1,234.50 − 1,000.00
            "Closing balance",
        ):
            assert expected in text, expected
        # The page repeats its table's headers on each printed page; nothing of the screen.
        assert "Print" not in text.replace("Printed", "")
        assert "stops working" not in text
        assert [a for p in pdf.pages for a in (p.get("/Annots") or [])] == []

        # On the counter's PC: the list says who made the link and until when it opens.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server}/customers/{customer}#shared-links")
        listed = page.locator("#shared-links")
        expect(listed).to_contain_text("by Carl Clerk")
        expect(listed).to_contain_text("Open until")
        listed.screenshot(path=str(ARTIFACTS / "share-links-desktop.png"))
    finally:
        staff.close()
        stranger.close()
