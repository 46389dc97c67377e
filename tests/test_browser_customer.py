"""An owner adds a customer with a credit limit in Chromium, finds them, and edits the phone."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.browser import sign_in
from tests.helpers import Shop, fetch
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser


def test_an_owner_adds_finds_and_edits_a_customer(
    page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    sign_in(page, live_server, shop, shop.owner_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="Add a customer").first.click()
    page.get_by_label("Name").fill("Grace Mensah")
    page.get_by_label("Phone").fill("+254700111222")
    page.get_by_label("Credit limit").fill("750")
    # A double click still adds one customer (the form's key is the customer's id).
    page.get_by_role("button", name="Add customer").dblclick()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Mensah")
    expect(page.locator(".facts").last).to_contain_text("$750.00")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    page.get_by_label("Name or phone").fill("700111")
    page.get_by_role("button", name="Show").click()
    row = page.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Grace Mensah")
    expect(row).to_contain_text("$750.00")

    row.get_by_role("link", name="Grace Mensah").click()
    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_label("Credit limit")).to_have_value("750.00")
    page.get_by_label("Phone").fill("+254711999888")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Grace Mensah's details were saved.")).to_be_visible()
    expect(page.locator(".facts").first).to_contain_text("+254711999888")

    assert fetch(database.admin, "SELECT name, phone, credit_limit FROM customers") == [
        ("Grace Mensah", "+254711999888", Decimal("750.00"))
    ]
