"""An owner adds a product and restocks it through the real forms in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser import sign_in
from tests.helpers import Shop, fetch, ledger_violations
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser


def test_add_a_product_restock_it_and_find_it_in_the_list(
    page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    sign_in(page, live_server, shop, shop.owner_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    page.get_by_role("link", name="Add a product").click()
    page.get_by_label("Name").fill("Maize flour 2 kg")
    page.get_by_label("SKU").fill("MF-2")
    page.get_by_label("Price").fill("abc")
    page.get_by_label("Opening stock").fill("3")
    page.get_by_role("button", name="Add product").click()
    expect(page.locator("#price-error")).to_have_text("The price must be an amount such as 12.50.")
    expect(page.get_by_label("Name")).to_have_value("Maize flour 2 kg")  # kept to correct
    page.get_by_label("Price").fill("2.40")
    page.get_by_role("button", name="Add product").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Maize flour 2 kg")
    expect(page.get_by_role("status")).to_have_text("Maize flour 2 kg added.")
    expect(page.locator(".facts")).to_contain_text("$2.40")
    expect(page.locator(".facts")).to_contain_text("low")  # 3 is at or below the threshold (5)

    page.get_by_label("Why").select_option("delivery")
    page.get_by_label("How many").fill("24")
    page.get_by_label("Note").fill("Unga supplier, invoice 88")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("status")).to_have_text("Delivery recorded. Stock is now 27.")
    history = page.locator(".stock-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("Delivery")
    expect(history.nth(0)).to_contain_text("+24")
    expect(history.nth(0)).to_contain_text("27")
    expect(history.nth(0)).to_contain_text("Unga supplier, invoice 88")
    expect(history.nth(0)).to_contain_text("Olive Owner")
    expect(history.nth(1)).to_contain_text("Opening stock")
    expect(history.nth(1)).to_contain_text("+3")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    page.get_by_label("Name, SKU or barcode").fill("mf-2")
    page.get_by_role("button", name="Show").click()
    row = page.locator(".products-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Maize flour 2 kg")
    expect(row).to_contain_text("MF-2")
    expect(row).to_contain_text("$2.40")
    expect(row).to_contain_text("27")
    assert fetch(database.admin, "SELECT name, sku, stock FROM products") == [
        ("Maize flour 2 kg", "MF-2", 27)
    ]
    assert ledger_violations(database.admin) == []
