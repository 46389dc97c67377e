"""Recording sales through the real form in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser import sign_in
from tests.helpers import Shop, add_customer, add_product, fetch
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser


def test_a_two_item_sale_then_one_over_the_limit(
    page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    add_customer(database.admin, shop.business_id, "Grace Mensah", credit_limit="60.00")
    add_product(database.admin, shop.business_id, "Rice 5 kg", price="9.50", stock=20)
    add_product(database.admin, shop.business_id, "Cooking oil 1 l", price="3.90", stock=20)
    sign_in(page, live_server, shop, shop.clerk_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sales").click()
    page.get_by_role("link", name="New sale").click()
    page.get_by_label("Customer name or phone").fill("grace")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Sell to Grace Mensah").click()
    expect(page.locator(".customer-card")).to_contain_text("$60.00")

    page.get_by_label("Product 1", exact=True).select_option(
        label="Rice 5 kg — $9.50 · 20 in stock"
    )
    page.get_by_label("Quantity 1", exact=True).fill("2")
    page.get_by_label("Product 2", exact=True).select_option(
        label="Cooking oil 1 l — $3.90 · 20 in stock"
    )
    expect(page.locator("[data-total]")).to_have_text("$22.90")  # the live total
    page.get_by_role("button", name="More rows").click()  # added in place by the script
    expect(page.locator("select[name=product]")).to_have_count(6)
    page.get_by_role("button", name="Record sale").click()

    expect(page.get_by_role("heading", name="Sale on account")).to_be_visible()
    receipt = page.locator(".receipt")
    expect(receipt).to_contain_text("Grace Mensah")
    expect(receipt).to_contain_text("Rice 5 kg")
    expect(receipt).to_contain_text("Cooking oil 1 l")
    expect(receipt).to_contain_text("$22.90")

    # The same customer again: 4 × 9.50 = 38.00 > 60.00 − 22.90 available.
    page.get_by_role("link", name="Another sale for Grace Mensah").click()
    page.get_by_label("Product 1", exact=True).select_option(
        label="Rice 5 kg — $9.50 · 18 in stock"
    )
    page.get_by_label("Quantity 1", exact=True).fill("4")
    expect(page.locator("[data-credit-warning]")).to_be_visible()
    page.get_by_role("button", name="Record sale").click()
    expect(page.get_by_role("alert")).to_contain_text("Available credit is $37.10")
    expect(page.get_by_label("Quantity 1", exact=True)).to_have_value("4")
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(1,)]
