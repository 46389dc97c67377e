"""The second factor (issue 15, item 10): an owner sets up TOTP (RFC 6238, 30 s, 6 digits,
SHA-1) with ten recovery codes; signing in then needs a code too; a shop can require it of its
owners; clerks are never asked. Codes are made with pyotp from the key the setup page shows, at
a clock the tests move (webapp.auth.two_factor.now)."""

from __future__ import annotations

import html
import re

import psycopg
import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from tests.helpers import PASSWORD, Shop, csrf_token, fetch, field_errors, login, signed_in
from tests.test_settings import GOOD
from webapp.auth import two_factor
from webapp.db import get_db
from webapp.embedded import DatabaseUrls
from webapp.extensions import limiter
from webapp.models import User

T0 = 1_900_000_020.0  # a moment at the start of a 30-second step
SECRET_TEXT = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')
RECOVERY = re.compile(r"<li><code>([0-9a-z-]+)</code></li>")
NOT_RIGHT = "That code is not right, or it was used already."


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = T0
        monkeypatch.setattr(two_factor, "now", lambda: self.now)

    def move(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def code(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)


def post(client: FlaskClient, path: str, page: str, **data: str) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def start(client: FlaskClient) -> str:
    """Start the setup; the key the page shows for typing into an app."""
    response = post(client, "/account/two-factor/start", "/account/two-factor")
    assert response.status_code == 302
    page = client.get("/account/two-factor").get_data(as_text=True)
    match = SECRET_TEXT.search(page)
    assert match, page
    return match.group(1).replace(" ", "")


def set_up(client: FlaskClient, clock: Clock) -> tuple[str, list[str]]:
    """Set up a second factor for the signed-in owner: the key and the recovery codes."""
    secret = start(client)
    response = post(
        client,
        "/account/two-factor/confirm",
        "/account/two-factor",
        code=code(secret, clock.now),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = RECOVERY.findall(response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def enter_code(client: FlaskClient, typed: str) -> TestResponse:
    return post(client, "/login/code", "/login/code", code=typed)


def sign_in_asks_for_code(client: FlaskClient, shop: Shop, email: str | None = None) -> None:
    response = login(client, shop.slug, email or shop.owner_email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/code"


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/")
    return response.status_code == 200


def sign_out(client: FlaskClient) -> None:
    assert post(client, "/logout", "/").status_code == 302


def user_row(admin_url: str, user_id: object) -> tuple[object, ...]:
    return fetch(
        admin_url,
        "SELECT totp_secret, totp_enabled_at, totp_last_step FROM users WHERE id = %s",
        user_id,
    )[0]


def test_an_owner_sets_it_up_with_a_qr_code_and_a_key_and_gets_recovery_codes_once(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls, clock: Clock
) -> None:
    page = owner_client.get("/account/two-factor").get_data(as_text=True)
    assert "Set up a second factor" in page
    assert 'href="/account/two-factor"' in owner_client.get("/account/password").get_data(
        as_text=True
    )

    secret = start(owner_client)
    page = owner_client.get("/account/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the otpauth:// URI as a QR code
    assert len(secret) == 32  # 160 bits, base32
    stored, enabled_at, _ = user_row(database.admin, shop.owner_id)
    assert enabled_at is None  # not on until a code confirms it
    assert isinstance(stored, str) and secret not in stored  # encrypted, not the key itself

    # Not on yet: signing in elsewhere needs only the password.
    assert is_signed_in(signed_in(owner_client.application, shop.slug, shop.owner_email))

    wrong = post(owner_client, "/account/two-factor/confirm", "/account/two-factor", code="000000")
    assert wrong.status_code == 400
    assert field_errors(wrong.get_data(as_text=True), "code")
    assert user_row(database.admin, shop.owner_id)[1] is None

    response = post(
        owner_client, "/account/two-factor/confirm", "/account/two-factor", code=code(secret, T0)
    )
    assert response.status_code == 200
    codes = RECOVERY.findall(response.get_data(as_text=True))
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9a-z]{4}(-[0-9a-z]{4}){3}", c) for c in codes)
    stored, enabled_at, last_step = user_row(database.admin, shop.owner_id)
    assert enabled_at is not None and last_step == int(T0) // 30
    hashes = fetch(
        database.admin,
        "SELECT code_hash FROM recovery_codes WHERE user_id = %s AND used_at IS NULL "
        "AND discarded_at IS NULL",
        shop.owner_id,
    )
    assert len(hashes) == 10
    assert not {c.replace("-", "") for c in codes} & {h for (h,) in hashes}  # hashed

    page = owner_client.get("/account/two-factor").get_data(as_text=True)
    assert "is <strong>on</strong>" in page
    assert "<strong>10</strong> unused recovery codes" in page
    assert not any(c in page for c in codes)  # shown once, never again
    assert secret not in page and "data:image" not in page


def test_signing_in_needs_the_code_after_the_password(
    app: Flask, owner_client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    secret, _ = set_up(owner_client, clock)
    clock.move(60)
    browser = app.test_client()
    sign_in_asks_for_code(browser, shop)
    assert not is_signed_in(browser)  # the right password alone does not sign in
    assert browser.get("/customers").headers["Location"].startswith("/login")

    wrong = enter_code(browser, "123456")
    assert wrong.status_code == 400
    assert field_errors(wrong.get_data(as_text=True), "code") == [NOT_RIGHT]
    assert not is_signed_in(browser)
    for typed in ("", "１２３４５６", "abc"):  # (5 tries a minute: this is the 4th)
        assert enter_code(browser, typed).status_code == 400
    assert not is_signed_in(browser)

    response = enter_code(browser, code(secret, clock.now))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert is_signed_in(browser)


def test_the_code_keeps_where_the_visitor_was_going(
    app: Flask, owner_client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    secret, _ = set_up(owner_client, clock)
    clock.move(30)
    browser = app.test_client()
    token = csrf_token(browser, "/login")
    response = browser.post(
        "/login?next=/customers",
        data={
            "csrf_token": token,
            "business": shop.slug,
            "email": shop.owner_email,
            "password": PASSWORD,
        },
    )
    assert response.headers["Location"] == "/login/code"
    assert enter_code(browser, code(secret, clock.now)).headers["Location"] == "/customers"


def test_a_wrong_password_is_refused_as_before_without_asking_for_a_code(
    app: Flask, owner_client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    set_up(owner_client, clock)
    response = login(app.test_client(), shop.slug, shop.owner_email, "not the password")
    assert response.status_code == 400
    assert "do not match an active account" in response.get_data(as_text=True)


def test_the_previous_and_next_step_are_accepted_and_no_further(
    app: Flask, owner_client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    secret, _ = set_up(owner_client, clock)
    for offset, accepted in ((-30, True), (30, True), (-60, False), (60, False), (90, False)):
        clock.move(300)  # a fresh step each time, later than every one used
        limiter.reset()  # (sign-in throttling counts real minutes)
        browser = app.test_client()
        sign_in_asks_for_code(browser, shop)
        response = enter_code(browser, code(secret, clock.now + offset))
        assert (response.status_code == 302) is accepted, offset
        assert is_signed_in(browser) is accepted


def test_a_code_is_not_accepted_twice(
    app: Flask, owner_client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    secret, _ = set_up(owner_client, clock)
    # The code that confirmed the setup is used already.
    browser = app.test_client()
    sign_in_asks_for_code(browser, shop)
    assert enter_code(browser, code(secret, clock.now)).status_code == 400

    clock.move(30)
    used = code(secret, clock.now)
    assert enter_code(browser, used).status_code == 302
    sign_out(browser)

    clock.move(10)  # still within the same step, and the next one's window
    other = app.test_client()
    sign_in_asks_for_code(other, shop)
    refused = enter_code(other, used)  # seen over a shoulder: refused
    assert refused.status_code == 400
    assert field_errors(refused.get_data(as_text=True), "code") == [NOT_RIGHT]
    # An earlier step's code, still in the window, is no good either once a later one was used.
    assert enter_code(other, code(secret, clock.now - 30)).status_code == 400
    assert not is_signed_in(other)
    assert enter_code(other, code(secret, clock.now + 30)).status_code == 302


def test_a_recovery_code_signs_in_once(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls, clock: Clock
) -> None:
    _, codes = set_up(owner_client, clock)
    browser = app.test_client()
    sign_in_asks_for_code(browser, shop)
    typed = codes[3].replace("-", "").upper()  # any case, without its dashes
    response = enter_code(browser, typed)
    assert response.status_code == 302
    page = browser.get("/").get_data(as_text=True)
    assert "signed in with a recovery code" in page and "9 left" in page
    sign_out(browser)

    sign_in_asks_for_code(browser, shop)
    refused = enter_code(browser, codes[3])
    assert refused.status_code == 400
    assert field_errors(refused.get_data(as_text=True), "code") == [NOT_RIGHT]
    assert not is_signed_in(browser)
    assert enter_code(browser, f" {codes[4]} ").status_code == 302
    ((used,),) = fetch(
        database.admin,
        "SELECT count(*) FROM recovery_codes WHERE user_id = %s AND used_at IS NOT NULL",
        shop.owner_id,
    )
    assert used == 2


def test_new_recovery_codes_retire_the_old_ones(
    app: Flask, owner_client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    secret, old = set_up(owner_client, clock)
    clock.move(30)
    response = post(
        owner_client,
        "/account/two-factor/recovery-codes",
        "/account/two-factor",
        code=code(secret, clock.now),
    )
    assert response.status_code == 200
    new = RECOVERY.findall(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)

    browser = app.test_client()
    sign_in_asks_for_code(browser, shop)
    assert enter_code(browser, old[0]).status_code == 400
    assert enter_code(browser, new[0]).status_code == 302


def test_turning_it_off_needs_the_password_and_a_code(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls, clock: Clock
) -> None:
    secret, codes = set_up(owner_client, clock)
    clock.move(30)
    message = "That password and code do not match your account."
    for password, typed in (
        ("not the password", code(secret, clock.now)),
        (PASSWORD, "000000"),
        (PASSWORD, ""),
    ):
        response = post(
            owner_client,
            "/account/two-factor/off",
            "/account/two-factor",
            password=password,
            code=typed,
        )
        assert response.status_code == 400
        if typed:  # the same words whichever was wrong
            assert message in html.unescape(response.get_data(as_text=True))
        assert user_row(database.admin, shop.owner_id)[1] is not None

    response = post(
        owner_client,
        "/account/two-factor/off",
        "/account/two-factor",
        password=PASSWORD,
        code=codes[0],  # a recovery code does too (the phone is lost)
    )
    assert response.status_code == 302
    assert user_row(database.admin, shop.owner_id) == (None, None, None)
    assert fetch(
        database.admin,
        "SELECT count(*) FROM recovery_codes WHERE user_id = %s AND used_at IS NULL "
        "AND discarded_at IS NULL",
        shop.owner_id,
    ) == [(0,)]
    assert is_signed_in(signed_in(app, shop.slug, shop.owner_email))  # the password alone


def test_guessing_codes_is_throttled(
    app: Flask, owner_client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    secret, _ = set_up(owner_client, clock)
    clock.move(30)
    browser = app.test_client()
    sign_in_asks_for_code(browser, shop)
    statuses = [enter_code(browser, f"00000{n}").status_code for n in range(6)]
    assert statuses == [400] * 5 + [429]
    assert enter_code(browser, code(secret, clock.now)).status_code == 429
    assert not is_signed_in(browser)


def test_the_step_after_the_password_lasts_five_minutes(
    app: Flask, owner_client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    secret, _ = set_up(owner_client, clock)
    browser = app.test_client()
    sign_in_asks_for_code(browser, shop)
    token = csrf_token(browser, "/login/code")
    clock.move(301)
    response = browser.post(
        "/login/code", data={"csrf_token": token, "code": code(secret, clock.now)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not is_signed_in(browser)


def test_a_password_changed_meanwhile_ends_the_step_after_the_password(
    app: Flask, owner_client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    secret, _ = set_up(owner_client, clock)
    clock.move(30)
    browser = app.test_client()
    sign_in_asks_for_code(browser, shop)
    token = csrf_token(browser, "/login/code")
    changed = post(
        owner_client,
        "/account/password",
        "/account/password",
        current_password=PASSWORD,
        new_password="another good password",
        confirm="another good password",
    )
    assert changed.status_code == 302
    response = browser.post(
        "/login/code", data={"csrf_token": token, "code": code(secret, clock.now)}
    )
    assert response.headers["Location"] == "/login"
    assert not is_signed_in(browser)


def test_the_code_page_without_a_right_password_sends_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_a_shop_can_require_it_of_owners_and_clerks_are_never_asked(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls, clock: Clock
) -> None:
    response = owner_client.post(
        "/settings",
        data={
            "csrf_token": csrf_token(owner_client, "/settings"),
            **GOOD,
            "owners_need_two_factor": "y",
        },
    )
    assert response.status_code == 302
    assert fetch(
        database.admin,
        "SELECT owners_need_two_factor FROM businesses WHERE id = %s",
        shop.business_id,
    ) == [(True,)]

    # The owner, without one, is sent to set it up before anything else.
    for path in ("/", "/customers", "/settings", "/staff"):
        response = owner_client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/account/two-factor"
    page = owner_client.get("/account/two-factor").get_data(as_text=True)
    assert "Your shop asks owners to sign in with a second factor" in page

    # A clerk is never asked: signing in needs the password alone, every page opens.
    clerk = app.test_client()
    response = login(clerk, shop.slug, shop.clerk_email)
    assert response.headers["Location"] == "/"
    assert clerk.get("/customers").status_code == 200
    assert clerk.get("/account/two-factor").status_code == 403
    assert post(clerk, "/account/two-factor/start", "/customers").status_code == 403

    secret, _ = set_up(owner_client, clock)
    assert owner_client.get("/customers").status_code == 200
    settings = owner_client.get("/settings").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="owners_need_two_factor"', settings)

    # Turned off again while the shop requires it: sent straight back to set it up.
    clock.move(30)
    post(
        owner_client,
        "/account/two-factor/off",
        "/account/two-factor",
        password=PASSWORD,
        code=code(secret, clock.now),
    )
    assert owner_client.get("/").headers["Location"] == "/account/two-factor"
    assert owner_client.get("/settings").headers["Location"] == "/account/two-factor"

    # Set up again, the owner may untick the rule; then it is gone.
    clock.move(30)
    set_up(owner_client, clock)
    response = owner_client.post(
        "/settings", data={"csrf_token": csrf_token(owner_client, "/settings"), **GOOD}
    )
    assert response.status_code == 302
    assert fetch(
        database.admin,
        "SELECT owners_need_two_factor FROM businesses WHERE id = %s",
        shop.business_id,
    ) == [(False,)]


def test_another_shops_owner_and_rows_are_untouched(
    app: Flask,
    owner_client: FlaskClient,
    shop: Shop,
    other_shop: Shop,
    database: DatabaseUrls,
    clock: Clock,
) -> None:
    def theirs() -> list[tuple[object, ...]]:
        return fetch(
            database.admin,
            "SELECT to_jsonb(u)::text FROM users u WHERE business_id = %s ORDER BY id",
            other_shop.business_id,
        ) + fetch(
            database.admin,
            "SELECT to_jsonb(r)::text FROM recovery_codes r WHERE business_id = %s",
            other_shop.business_id,
        )

    before = theirs()
    set_up(owner_client, clock)
    assert theirs() == before
    assert is_signed_in(signed_in(app, other_shop.slug, other_shop.owner_email))

    # As the app role bound to A, B's recovery codes are not there to read or use.
    theirs_owner = signed_in(app, other_shop.slug, other_shop.owner_email)
    _, b_codes = set_up(theirs_owner, clock)
    with psycopg.connect(database.app) as conn:
        conn.execute("SELECT set_config('app.business_id', %s, true)", (str(shop.business_id),))
        assert conn.execute("SELECT DISTINCT business_id FROM recovery_codes").fetchall() == [
            (shop.business_id,)
        ]
        assert (
            conn.execute(
                "UPDATE recovery_codes SET used_at = now() WHERE business_id = %s",
                (other_shop.business_id,),
            ).rowcount
            == 0
        )
    # A's owner cannot sign in with B's recovery code.
    browser = app.test_client()
    sign_in_asks_for_code(browser, shop)
    assert enter_code(browser, b_codes[0]).status_code == 400


def test_a_stored_secret_opens_only_for_its_user_and_the_apps_key(
    app: Flask, owner_client: FlaskClient, shop: Shop, other_shop: Shop, clock: Clock
) -> None:
    secret, _ = set_up(owner_client, clock)
    with app.app_context(), Session(get_db().admin_engine) as session:  # never committed
        owner = session.get(User, (shop.business_id, shop.owner_id))
        stranger = session.get(User, (other_shop.business_id, other_shop.owner_id))
        assert owner is not None and stranger is not None
        assert two_factor.unseal(owner) == secret
        stranger.totp_secret = owner.totp_secret  # copied onto another row: it does not open
        assert two_factor.unseal(stranger) is None
        app.config["SECRET_KEY"], kept = "another secret key", app.config["SECRET_KEY"]
        try:
            assert two_factor.unseal(owner) is None  # a copy of the database alone gives nothing
        finally:
            app.config["SECRET_KEY"] = kept


def test_an_admin_can_reset_a_lost_second_factor(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls, clock: Clock
) -> None:
    set_up(owner_client, clock)
    result = app.test_cli_runner().invoke(
        args=["reset-two-factor", "--business", shop.slug, "--email", shop.owner_email.upper()]
    )
    assert result.exit_code == 0, result.output
    assert "is off" in result.output
    assert user_row(database.admin, shop.owner_id) == (None, None, None)
    assert is_signed_in(signed_in(app, shop.slug, shop.owner_email))
    unknown = app.test_cli_runner().invoke(
        args=["reset-two-factor", "--business", shop.slug, "--email", "nobody@example.com"]
    )
    assert unknown.exit_code != 0 and "no one with the email" in unknown.output
