"""Signing in through the real page in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import PASSWORD, Shop

pytestmark = pytest.mark.browser


def test_sign_in_through_the_page_and_see_the_business(
    page: Page, live_server: str, shop: Shop
) -> None:
    page.goto(f"{live_server}/")
    expect(page).to_have_url(f"{live_server}/login?next=%2F")

    page.get_by_label("Shop code").fill(shop.slug)
    page.get_by_label("Email").fill(shop.owner_email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an active account")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(shop.name)
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Home")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server}/login")
