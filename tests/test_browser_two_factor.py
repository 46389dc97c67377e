"""Setting up a second factor in Chromium: the QR code shows (a data: image the CSP allows),
the key reads as text, and signing in then asks for the code."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser import sign_in
from tests.helpers import PASSWORD, Shop
from tests.test_two_factor import Clock

pytestmark = pytest.mark.browser


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)  # the live server runs in this process: it reads this clock


def test_an_owner_scans_the_qr_code_then_signs_in_with_a_code(
    page: Page, live_server: str, shop: Shop, clock: Clock
) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    sign_in(page, live_server, shop, shop.owner_email)
    page.goto(f"{live_server}/account/password")
    page.get_by_role("link", name="Second factor").click()
    page.get_by_role("button", name="Set up a second factor").click()

    qr = page.get_by_role("img", name="QR code to add ShopCredit to your authenticator app")
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.complete && image.naturalWidth > 100")  # it drew
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    assert len(secret) == 32

    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).at(clock.now))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your second factor is on")).to_be_visible()
    expect(page.locator(".code-list li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them").click()
    page.get_by_role("button", name="Sign out").click()

    clock.move(30)
    page.get_by_label("Shop code").fill(shop.slug)
    page.get_by_label("Email").fill(shop.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server}/login/code")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error")).to_have_text("That code is not right, or it was used already.")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock.now))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(shop.name)
    assert not [text for text in console if "Content Security Policy" in text]
