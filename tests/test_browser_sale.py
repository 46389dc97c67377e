"""Recording sales through the real form in Chromium: typing, scanning, tapping, without
JavaScript, and Back → Record sale."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import assert_fits, sign_in
from tests.helpers import Shop, add_customer, add_product, fetch
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser


def _set_barcode(database: DatabaseUrls, product: object, barcode: str) -> None:
    fetch(
        database.admin,
        "UPDATE products SET barcode = %s WHERE id = %s RETURNING id",
        barcode,
        product,
    )


def _orders(database: DatabaseUrls) -> int:
    return fetch(database.admin, "SELECT count(*) FROM orders")[0][0]


def test_find_by_typing_then_one_over_the_limit(
    page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    add_customer(database.admin, shop.business_id, "Grace Mensah", credit_limit="60.00")
    add_product(database.admin, shop.business_id, "Rice 5 kg", price="9.50", stock=20)
    add_product(database.admin, shop.business_id, "Crème fraîche", price="3.90", stock=20)
    sign_in(page, live_server, shop, shop.clerk_email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sales").click()
    page.get_by_role("link", name="New sale").click()
    page.get_by_label("Customer name or phone").fill("grace")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Sell to Grace Mensah").click()
    expect(page.locator(".customer-card")).to_contain_text("$60.00")

    finder = page.get_by_label("Product, SKU or barcode")
    finder.fill("rice")
    page.get_by_role("option", name="Rice 5 kg").click()  # a tap on a suggestion
    page.get_by_label("Quantity of Rice 5 kg").fill("2")
    finder.fill("creme")  # accents ignored
    expect(page.get_by_role("option")).to_have_count(1)
    finder.press("ArrowDown")
    finder.press("Enter")
    expect(page.locator("[data-total]")).to_have_text("$22.90")  # the live total
    page.get_by_role("button", name="Record sale").click()

    expect(page.get_by_role("heading", name="Sale on account")).to_be_visible()
    receipt = page.locator(".receipt")
    expect(receipt).to_contain_text("Rice 5 kg")
    expect(receipt).to_contain_text("Crème fraîche")
    expect(receipt).to_contain_text("$22.90")

    # The same customer again: 4 × 9.50 = 38.00 > 60.00 − 22.90 available.
    page.get_by_role("link", name="Another sale for Grace Mensah").click()
    finder.fill("rice")
    page.get_by_role("option", name="Rice 5 kg").click()
    page.get_by_role("button", name="One more Rice 5 kg").click(click_count=3)
    expect(page.get_by_label("Quantity of Rice 5 kg")).to_have_value("4")
    expect(page.locator("[data-credit-warning]")).to_be_visible()
    page.get_by_role("button", name="Record sale").click()
    expect(page.get_by_role("alert").first).to_contain_text("Available credit is $37.10")
    expect(page.get_by_label("Quantity of Rice 5 kg")).to_have_value("4")
    assert _orders(database) == 1


def test_a_scanner_adds_lines_with_no_clicks(
    page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace", credit_limit="100.00")
    milk = add_product(database.admin, shop.business_id, "Milk 1 l", price="1.20", stock=10)
    bread = add_product(database.admin, shop.business_id, "Bread", price="2.00", stock=10)
    _set_barcode(database, milk, "5012345678900")
    _set_barcode(database, bread, "036000291452")  # a UPC-A
    sign_in(page, live_server, shop, shop.clerk_email)
    page.goto(f"{live_server}/sales/new?customer={customer}")

    finder = page.get_by_label("Product, SKU or barcode")
    # A scanner types the code and Enter, fast; the third scan is the UPC read as an EAN-13.
    for code in ("5012345678900", "5012345678900", "0036000291452"):
        finder.press_sequentially(code, delay=5)
        finder.press("Enter")
    expect(page.get_by_label("Quantity of Milk 1 l")).to_have_value("2")
    expect(page.get_by_label("Quantity of Bread")).to_have_value("1")
    finder.press_sequentially("999999", delay=5)
    finder.press("Enter")
    expect(page.locator("#find-error")).to_contain_text("No product has the barcode or SKU")
    expect(page.locator("[data-line]")).to_have_count(2)
    expect(page.locator("[data-total]")).to_have_text("$4.40")
    page.get_by_role("button", name="Record sale").click()

    expect(page.get_by_role("heading", name="Sale on account")).to_be_visible()
    lines = fetch(
        database.admin,
        "SELECT p.name, i.quantity FROM order_items i JOIN products p ON p.id = i.product_id "
        "ORDER BY i.line_no",
    )
    assert lines == [("Milk 1 l", 2), ("Bread", 1)]


def test_without_javascript_find_adds_and_records(
    browser: Browser, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace", credit_limit="100.00")
    add_product(database.admin, shop.business_id, "Screwdriver", price="4.00", stock=5)
    add_product(database.admin, shop.business_id, "Screws 40 mm", price="0.10", stock=500)
    sugar = add_product(database.admin, shop.business_id, "Sugar", price="1.50", stock=5)
    fetch(database.admin, "UPDATE products SET sku = 'SUG-1' WHERE id = %s RETURNING id", sugar)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    try:
        sign_in(page, live_server, shop, shop.clerk_email)
        page.goto(f"{live_server}/sales/new?customer={customer}")
        finder = page.get_by_label("Product, SKU or barcode")
        finder.fill("screw")
        finder.press("Enter")  # Enter finds: Find is the form's first button
        page.get_by_role("button", name="Screws 40 mm").click()
        page.get_by_label("Quantity of Screws 40 mm").fill("20")
        page.get_by_label("Product, SKU or barcode").fill("sug-1")  # an exact SKU, any case
        page.get_by_role("button", name="Find").click()
        expect(page.get_by_label("Quantity of Screws 40 mm")).to_have_value("20")
        expect(page.get_by_label("Quantity of Sugar")).to_have_value("1")
        page.get_by_role("button", name="Record sale").click()
        expect(page.get_by_role("heading", name="Sale on account")).to_be_visible()
        expect(page.locator(".receipt")).to_contain_text("$3.50")
    finally:
        context.close()
    assert _orders(database) == 1


def test_back_after_a_sale_then_record_asks_before_a_second(
    page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace", credit_limit="100.00")
    add_product(database.admin, shop.business_id, "Rice", price="2.00", stock=50)
    sign_in(page, live_server, shop, shop.clerk_email)
    page.goto(f"{live_server}/sales/new?customer={customer}")
    page.get_by_label("Product, SKU or barcode").fill("rice")
    page.get_by_role("option", name="Rice").click()
    page.get_by_role("button", name="Record sale").click()
    expect(page.get_by_role("heading", name="Sale on account")).to_be_visible()
    assert _orders(database) == 1

    # Back, then Record sale at once: the page came back fresh (no-store), with a new key and
    # no lines, so nothing is recorded.
    page.go_back()
    page.get_by_role("button", name="Record sale").click()
    expect(page.get_by_role("alert").first).to_contain_text("Add a product")
    assert _orders(database) == 1
    # The same sale entered again: asked before it is recorded a second time.
    page.get_by_label("Product, SKU or barcode").fill("rice")
    page.get_by_role("option", name="Rice").click()
    page.get_by_role("button", name="Record sale").click()
    expect(page.get_by_role("alert").first).to_contain_text("Record it again?")
    assert _orders(database) == 1
    page.get_by_role("button", name="Record it again").click()
    expect(page.get_by_role("heading", name="Sale on account")).to_be_visible()
    assert _orders(database) == 2


def test_a_sale_at_phone_width_by_tapping(
    browser: Browser, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace Mensah", credit_limit="100")
    for n in range(30):
        add_product(database.admin, shop.business_id, f"Soap bar {n:02} extra long name", stock=9)
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, shop, shop.clerk_email)
        page.goto(f"{live_server}/sales/new?customer={customer}")
        page.get_by_label("Product, SKU or barcode").fill("soap")
        page.get_by_role("option").first.tap()
        page.get_by_role("button", name="One more Soap bar 00 extra long name").tap()
        page.get_by_label("Product, SKU or barcode").fill("bar 07")
        page.get_by_role("option").first.tap()
        assert_fits(page)
        page.get_by_role("button", name="Record sale").tap()
        expect(page.get_by_role("heading", name="Sale on account")).to_be_visible()
        assert_fits(page)
    finally:
        context.close()
    assert fetch(database.admin, "SELECT sum(quantity) FROM order_items") == [(3,)]
