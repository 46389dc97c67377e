"""Receipts on the shop's receipt paper (Settings): A4, or an 80 mm or 58 mm receipt roll,
printed to PDF by Chromium at the size the page's CSS asks for."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser import sign_in
from tests.helpers import ARTIFACTS, Shop, add_customer, add_product, fetch, pay, sell
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser
MM = 72 / 25.4  # PDF points in a millimetre
WIDTHS = {"a4": 210, "80mm": 80, "58mm": 58}


def _print(page: Page, name: str) -> PdfReader:
    page.emulate_media(media="print")
    printed = page.pdf(prefer_css_page_size=True, print_background=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.pdf").write_bytes(printed)
    return PdfReader(io.BytesIO(printed))


@pytest.mark.parametrize("paper", list(WIDTHS))
def test_a_sale_receipt_prints_on_the_shops_paper(
    paper: str, app: Flask, page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    fetch(
        database.admin,
        "UPDATE businesses SET receipt_paper = %s, address = '12 Market Street' RETURNING id",
        paper,
    )
    customer = add_customer(database.admin, shop.business_id, "Grace Mensah")
    oil = add_product(
        database.admin, shop.business_id, "Extra virgin olive oil, 750 ml", price="12.50"
    )
    order = sell(app, shop, customer, oil, 3)
    sign_in(page, live_server, shop, shop.clerk_email)
    page.goto(f"{live_server}/sales/{order}")
    expect(page.get_by_role("heading", name="Sale on account")).to_be_visible()

    pdf = _print(page, f"sale-receipt-{paper}")

    width = float(pdf.pages[0].mediabox.width) / MM
    assert width == pytest.approx(WIDTHS[paper], abs=0.5)
    assert len(pdf.pages) == 1
    text = " ".join(pdf.pages[0].extract_text().split())
    for expected in (shop.name, "12 Market Street", "Sale on account", "Grace Mensah"):
        assert expected in text, expected
    assert "Extra virgin olive oil" in text and "$12.50" in text and "$37.50" in text
    assert "Print receipt" not in text and "Sign out" not in text  # nothing of the screen


@pytest.mark.parametrize("paper", ["80mm", "58mm"])
def test_a_payment_receipt_prints_on_a_receipt_roll(
    paper: str, app: Flask, page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    fetch(database.admin, "UPDATE businesses SET receipt_paper = %s RETURNING id", paper)
    customer = add_customer(database.admin, shop.business_id, "Grace Mensah")
    product = add_product(database.admin, shop.business_id, price="10.00")
    sell(app, shop, customer, product, 2)
    sell(app, shop, customer, product, 1)
    payment = pay(app, shop, customer, "25.00").payment_id
    sign_in(page, live_server, shop, shop.clerk_email)
    page.goto(f"{live_server}/payments/{payment}")

    pdf = _print(page, f"payment-receipt-{paper}")

    assert float(pdf.pages[0].mediabox.width) / MM == pytest.approx(WIDTHS[paper], abs=0.5)
    text = " ".join(pdf.pages[0].extract_text().split())
    for expected in ("Payment received", "Grace Mensah", "$25.00", "$5.00", "Paid now"):
        assert expected in text, expected
