"""The reports in Chromium: at 390×844 none scrolls sideways and its chart fits the screen; on a
desktop the chart and table show; printed to PDF, each is readable text (its title, its
figures, the chart's labels) on A4 without the menu or the period form."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page
from pypdf import PdfReader

from tests.browser import assert_fits, sign_in
from tests.helpers import ARTIFACTS, Shop, add_customer, add_product, sell
from tests.test_reports import history  # noqa: F401  (the fixture: a day of the ledger)
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}

REPORTS = {
    "index": ("/reports", "Reports"),
    "sales": ("/reports/sales", "Sales"),
    "collections": ("/reports/collections", "Money collected"),
    "owed": ("/reports/owed", "What is owed, by age"),
    "customers": ("/reports/customers", "Who owes the most"),
    "sales by day": ("/reports/sales?by=day&from={month}&to={today}", "Sales"),
    "owed by week": ("/reports/owed?by=week", "What is owed, by age"),
}
# A figure of the fixture each printout must hold (app formatting: en, USD).
FIGURES = {
    "sales": ["$46.50", "Rice", "Without items (quick entries)"],
    "collections": ["$77.00", "$10.00", "Mobile money"],
    "owed": ["$29.50", "Not yet due"],
    "customers": ["Ivy", "$20.00", "Grace", "$9.50"],
}


def _wide_names(app: Flask, shop: Shop, admin: str) -> None:
    """A long product and customer name: what makes tables and charts wide."""
    product = add_product(
        admin, shop.business_id, "Extra virgin olive oil, cold pressed, 750 ml", price="1234.50"
    )
    customer = add_customer(
        admin, shop.business_id, "Oluwaseun Adebayo-Abernathy Kowalczyk", credit_limit="99999.00"
    )
    sell(app, shop, customer, product, 3)


@pytest.mark.usefixtures("history")
def test_no_report_scrolls_sideways_on_a_phone(
    app: Flask, browser: Browser, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    _wide_names(app, shop, database.admin)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    try:
        sign_in(phone, live_server, shop, shop.owner_email)
        today = phone.evaluate("new Date().toISOString().slice(0, 10)")
        for name, (path, heading) in REPORTS.items():
            url = path.format(today=today, month=today[:8] + "01")
            response = phone.goto(f"{live_server}{url}")
            assert response is not None and response.status == 200, name
            assert phone.locator("h1").first.inner_text() == heading
            assert_fits(phone)
            for chart in phone.locator("figure.report-chart svg").all():
                box = chart.bounding_box()
                assert box is not None and box["x"] >= 0, name
                assert box["x"] + box["width"] <= PHONE["width"], (name, box)
            ARTIFACTS.mkdir(exist_ok=True)
            phone.screenshot(
                path=str(ARTIFACTS / f"report-phone-{name.replace(' ', '-')}.png"),
                full_page=True,
            )
    finally:
        context.close()


@pytest.mark.usefixtures("history")
def test_each_report_prints_readably(
    app: Flask, page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    sign_in(page, live_server, shop, shop.owner_email)
    for name, figures in FIGURES.items():
        path, heading = REPORTS[name]
        page.goto(f"{live_server}{path}")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"report-desktop-{name}.png"), full_page=True)
        printed = page.pdf(format="A4", prefer_css_page_size=True)
        (ARTIFACTS / f"report-{name}.pdf").write_bytes(printed)
        pages = PdfReader(io.BytesIO(printed)).pages
        text = "\n".join(p.extract_text() for p in pages)
        assert heading in text, name
        assert shop.name in text and "Printed" in text, name  # whose, and when
        for figure in figures:
            assert figure in text, (name, figure)
        assert "Sign out" not in text and "Download CSV" not in text, name  # no menu, no buttons
        assert "Show" not in text.split(), name  # no period form
        assert len(pages) <= 3, name


def test_a_clerk_is_not_shown_the_reports(page: Page, live_server: str, shop: Shop) -> None:
    sign_in(page, live_server, shop, shop.clerk_email)
    assert page.locator("a[href='/reports']").count() == 0
    response = page.goto(f"{live_server}/reports/sales")
    assert response is not None and response.status == 403


def test_an_owners_menu_with_reports_is_one_line_at_1280(
    browser: Browser, live_server: str, shop: Shop
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        sign_in(page, live_server, shop, shop.owner_email)
        assert page.locator(".menu-wide a[href='/reports']").is_visible()
        page.screenshot(path=str(ARTIFACTS / "report-header-1280.png"))
        header = page.locator("header.topbar").bounding_box()
        assert header is not None and header["height"] < 70
    finally:
        context.close()
