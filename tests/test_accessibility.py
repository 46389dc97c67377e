"""Pages everyone can use (issue 17): axe-core finds no WCAG 2.1 A/AA violation on any page a
person uses, at desktop width and at 390×844."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.browser import sign_in
from tests.helpers import Shop
from tests.test_browser_phone import PAGES, Data, _shop_with_history
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE = Axe()

MORE_PAGES = {
    "sale form": "/sales/new?customer={customer}",
    "staff": "/staff",
    "settings": "/settings",
    "import": "/import",
    "cash-up": "/reports/day",
    "reports": "/reports",
    "sales report": "/reports/sales",
    "money collected": "/reports/collections",
    "owed by age": "/reports/owed?by=week",
    "who owes the most": "/reports/customers",
    "a period refused": "/reports/sales?from=yesterday",
    "reverse a payment": "/payments/{payment}/reverse",
    "not found": "/no-such-page",
}
CUSTOMERS_CSV = b"name,phone,credit_limit\nGrace Mensah,0700 111 222,500\nHassan Otieno,,x\n"


def violations(page: Page) -> list[str]:
    result = AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    found = []
    for violation in result.response["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return found


@pytest.fixture
def history(app: Flask, shop: Shop, database: DatabaseUrls) -> Data:
    return _shop_with_history(app, shop, database.admin)


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
def test_no_page_has_a_wcag_violation(
    browser: Browser, live_server: str, shop: Shop, history: Data, width: int, height: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    found: dict[str, list[str]] = {}
    page.goto(f"{live_server}/login")
    found["sign-in"] = violations(page)
    sign_in(page, live_server, shop, shop.owner_email)
    for name, path in {**PAGES, **MORE_PAGES}.items():
        page.goto(live_server + path.format(**vars(history)))
        found[name] = violations(page)

    page.goto(f"{live_server}/sales/new?customer={history.customer}")
    expect(page.get_by_label("Product, SKU or barcode")).to_be_focused()
    page.get_by_label("Product, SKU or barcode").fill("rice")
    page.get_by_role("option", name="Rice 5 kg").click()
    found["sale form with a line"] = violations(page)
    page.get_by_label("Quantity of Rice 5 kg").fill("100000")
    page.get_by_role("button", name="Record sale").click()
    expect(page.locator(".sale-lines tr.has-error")).to_have_count(1)
    # The errors are announced: the focus is on the line at fault, which names its error.
    expect(page.get_by_label("Quantity of Rice 5 kg")).to_be_focused()
    expect(page.get_by_label("Quantity of Rice 5 kg")).to_have_accessible_description(
        re.compile("left")
    )
    found["sale form refused"] = violations(page)

    page.goto(f"{live_server}/sales/{history.order}")
    page.get_by_role("link", name="Return items").click()
    found["return form"] = violations(page)
    page.locator("input[name^='qty-']").first.fill("1")
    page.get_by_label("Reason").fill("Leaking bottle")
    page.get_by_role("button", name="Record return").click()
    expect(page.get_by_role("heading", name="Goods returned")).to_be_visible()
    found["return receipt"] = violations(page)

    page.goto(f"{live_server}/import/customers")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "book.csv", "mimeType": "text/csv", "buffer": CUSTOMERS_CSV}]
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("table.import-preview")).to_be_visible()
    found["import preview with a problem"] = violations(page)

    page.goto(f"{live_server}/account/password")  # the account page, with the language
    found["account"] = violations(page)
    page.goto(f"{live_server}/customers/{history.customer}")
    page.get_by_role("button", name="Share statement").click()
    expect(page.locator(".flash-success")).to_contain_text("A link to the statement was made")
    address = page.get_by_label("Link to send").first.input_value()

    page.context.clear_cookies()  # the customer, who has no account
    page.goto(address)
    expect(page.get_by_role("heading", level=1)).to_have_text("Statement of account")
    found["shared statement"] = violations(page)
    page.goto(f"{live_server}/s/{'A' * 43}")
    found["shared statement, expired"] = violations(page)

    sign_in(page, live_server, shop, shop.clerk_email)
    page.goto(f"{live_server}/staff")  # owners only: the clerk's 403 page
    found["forbidden"] = violations(page)
    context.close()
    report = {name: v for name, v in found.items() if v}
    assert report == {}, "\n".join(f"{n}: {v}" for n, vs in report.items() for v in vs)
