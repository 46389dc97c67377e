"""An owner imports customers from a CSV file in Chromium: upload, preview, import."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.browser import sign_in
from tests.helpers import Shop, fetch, ledger_violations
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser

CSV = (
    "\ufeffName;Phone;Credit limit;Opening balance\r\n"
    "Grace Mensah;+254 700 111 222;500;120.50\r\n"
    "Hassan Otieno;0799 000 000;200;\r\n"
).encode()


def test_an_owner_imports_customers_from_a_csv_file(
    page: Page, live_server: str, shop: Shop, database: DatabaseUrls
) -> None:
    sign_in(page, live_server, shop, shop.owner_email)
    page.goto(f"{live_server}/import/customers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import customers from a spreadsheet")

    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "book.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Check the customers to import")).to_be_visible()
    preview = page.locator("table.import-preview")
    expect(preview.locator("tbody tr")).to_have_count(2)
    expect(preview).to_contain_text("Grace Mensah")
    expect(preview).to_contain_text("Hassan Otieno")
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(0,)]  # not yet

    page.get_by_role("button", name="Import 2 customers").click()
    expect(page.get_by_role("heading", name="Imported 2 customers")).to_be_visible()
    assert fetch(
        database.admin, "SELECT name, credit_limit, balance FROM customers ORDER BY name"
    ) == [
        ("Grace Mensah", Decimal("500.00"), Decimal("120.50")),
        ("Hassan Otieno", Decimal("200.00"), Decimal("0.00")),
    ]
    assert ledger_violations(database.admin) == []
