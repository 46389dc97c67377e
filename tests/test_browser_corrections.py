"""Putting a sale right in Chromium: return one item of a two-item sale from its receipt and see
stock, balance and the statement; a clerk's void after the shop's minutes is refused."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser import assert_fits, sign_in
from tests.helpers import Shop, add_customer, add_product, fetch, tenant_session
from webapp import ledger
from webapp.embedded import DatabaseUrls

pytestmark = pytest.mark.browser


def _two_item_sale(app, database: DatabaseUrls, shop: Shop) -> tuple[uuid.UUID, uuid.UUID]:
    customer = add_customer(database.admin, shop.business_id, "Grace Mensah")
    rice = add_product(database.admin, shop.business_id, "Rice 5 kg", price="9.50", stock=20)
    oil = add_product(database.admin, shop.business_id, "Cooking oil", price="4.00", stock=20)
    with tenant_session(app, shop.business_id) as session:
        order = ledger.purchase(
            session,
            customer_id=customer,
            lines=[ledger.Line(rice, 2), ledger.Line(oil, 1)],
            idempotency_key=uuid.uuid4(),
            user_id=shop.clerk_id,
        ).order_id
    return customer, order


@pytest.mark.parametrize("width", [1280, 390])
def test_return_one_item_from_the_receipt(
    page: Page, live_server: str, app, shop: Shop, database: DatabaseUrls, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 844})
    customer, order = _two_item_sale(app, database, shop)
    sign_in(page, live_server, shop, shop.owner_email)

    page.goto(f"{live_server}/sales/{order}")
    expect(page.locator(".receipt-number")).to_have_text("Sale 1")
    page.get_by_role("link", name="Return items").click()
    page.get_by_label("Return how many Cooking oil").fill("1")
    page.get_by_label("Reason").fill("Leaking bottle")
    page.get_by_role("button", name="Record return").click()

    expect(page.get_by_role("heading", name="Goods returned")).to_be_visible()
    expect(page.locator(".receipt")).to_contain_text("Cooking oil")
    expect(page.locator(".receipt")).to_contain_text("$19.00")  # what Grace owes now
    assert fetch(database.admin, "SELECT stock FROM products WHERE name = 'Cooking oil'") == [(20,)]

    page.goto(f"{live_server}/customers/{customer}")
    statement = page.locator("table.statement")
    expect(statement).to_contain_text("Return 1")
    expect(statement).to_contain_text("Leaking bottle")
    # The statement's last balance is what Grace owes.
    expect(statement.locator("tfoot")).to_contain_text("$19.00")
    if width == 390:
        assert_fits(page)


def test_a_clerks_late_void_is_refused(
    page: Page, live_server: str, app, shop: Shop, database: DatabaseUrls
) -> None:
    _, order = _two_item_sale(app, database, shop)
    fetch(
        database.admin,
        "UPDATE orders SET created_at = now() - interval '31 minutes' WHERE id = %s RETURNING id",
        order,
    )
    sign_in(page, live_server, shop, shop.clerk_email)
    page.goto(f"{live_server}/sales/{order}")
    expect(page.get_by_role("link", name="Void sale")).to_have_count(0)
    page.goto(f"{live_server}/sales/{order}/void")
    expect(page.get_by_role("alert")).to_contain_text("within 30 minutes")
    expect(page.get_by_role("button", name="Void sale")).to_have_count(0)
    assert fetch(database.admin, "SELECT count(*) FROM returns") == [(0,)]
