"""The overdue list in Chromium, printed to PDF as a shopkeeper would print it."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser import sign_in
from tests.helpers import (
    ARTIFACTS,
    Shop,
    add_customer,
    add_product,
    redate_sale,
    sell,
)
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser


def test_print_the_overdue_list(
    app: Flask, page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    product = add_product(database.admin, shop.business_id, price="1.00", stock=10_000)
    names = [f"Customer {n:02d}" for n in range(60)]  # more than one screen page
    for n, name in enumerate(names):
        customer = add_customer(database.admin, shop.business_id, name)
        order = sell(app, shop, customer, product, n + 1)
        redate_sale(database.admin, order, -(n + 1))
    total = sum(range(1, 61))  # 1,830.00

    sign_in(page, live_server, shop, shop.clerk_email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overdue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overdue customers")
    page.get_by_role("link", name="Print").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Overdue customers as of")

    page.emulate_media(media="print")
    printed = page.pdf(format="A4", prefer_css_page_size=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "overdue.pdf").write_bytes(printed)
    pdf = PdfReader(io.BytesIO(printed))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert len(pdf.pages) >= 2
    for name in names:
        assert name in text, name
    assert "60 customers" in text and f"${total:,}.00" in text
    assert shop.name in text
    # Table headers (uppercase on paper) repeat on every page.
    assert text.upper().count("CONTACTED / PROMISED") == len(pdf.pages)
    for navigation in ("Sign out", "Sales", "Payments", "Back to the list", "Print"):
        assert navigation not in text.replace("Printed", ""), navigation
    links = [a for p in pdf.pages for a in (p.get("/Annots") or [])]
    assert links == []  # no links on paper
