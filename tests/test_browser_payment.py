"""Taking a payment from the customer's page in Chromium, and the statement on paper (PDF)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser import sign_in
from tests.helpers import Shop, add_customer, add_product, fetch, pay, sell
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser


def test_take_a_payment_then_print_the_statement(
    app: Flask, page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace Mensah", credit_limit="500")
    product = add_product(database.admin, shop.business_id, "Rice 5 kg", price="9.50")
    sell(app, shop, customer, product, 4)  # 38.00
    pay(app, shop, customer, Decimal("8.00"))

    sign_in(page, live_server, shop, shop.clerk_email)
    page.goto(f"{live_server}/customers/{customer}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Mensah")

    page.get_by_role("link", name="Take payment").click()
    page.get_by_label("Amount").fill("12.50")
    page.get_by_label("Paid by").select_option(label="Mobile money")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    expect(page.locator(".receipt")).to_contain_text("$12.50")
    expect(page.locator(".receipt")).to_contain_text("$17.50")  # what is still owed
    assert fetch(database.admin, "SELECT balance FROM customers") == [(Decimal("17.50"),)]

    page.get_by_role("link", name="Grace Mensah's account").click()
    page.get_by_role("link", name="Printable statement").click()
    expect(page.get_by_role("heading", name="Statement of account")).to_be_visible()
    page.emulate_media(media="print")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(page.pdf(format="A4"))).pages)
    for expected in (
        "Grace Mensah",
        "Statement of account",
        "Opening balance",
        "Sale",
        "$38.00",
        "Payment",
        "$8.00",
        "$12.50",
        "Balance due: $17.50",
        shop.name,
    ):
        assert expected in text, expected
    assert "Sign out" not in text and "Back to Grace" not in text  # no navigation on paper
