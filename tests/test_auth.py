"""Signing in and out, CSRF, throttling, deny-by-default, sessions that end, headers."""

from __future__ import annotations

import os

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import PASSWORD, Shop, app_config, csrf_token, login
from webapp import create_app
from webapp.auth.routes import LOGIN_FAILED
from webapp.embedded import DatabaseUrls


def test_sign_in_shows_the_business_name_and_the_menu(client: FlaskClient, shop: Shop) -> None:
    response = login(client, shop.slug, shop.clerk_email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    page = client.get("/").get_data(as_text=True)
    assert "Alpha Store" in page
    assert "Carl Clerk" in page
    assert 'action="/logout"' in page


def test_shop_code_and_email_are_not_case_sensitive(client: FlaskClient, shop: Shop) -> None:
    response = login(client, " ALPHA-Store ", shop.owner_email.upper())
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("business", "email", "password"),
    [
        ("alpha-store", "owner@alpha-store.test", "wrong password"),
        ("alpha-store", "nobody@alpha-store.test", PASSWORD),
        ("no-such-shop", "owner@alpha-store.test", PASSWORD),
        ("beta-store", "owner@alpha-store.test", PASSWORD),  # a real email, another shop
    ],
)
@pytest.mark.usefixtures("shop", "other_shop")
def test_every_wrong_detail_gives_the_same_message(
    client: FlaskClient, business: str, email: str, password: str
) -> None:
    response = login(client, business, email, password)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert str(LOGIN_FAILED) in page
    assert client.get("/").status_code == 302  # still signed out


def test_missing_fields_are_named(client: FlaskClient, shop: Shop) -> None:
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "business": "", "email": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter your shop code." in page
    assert "Enter your email." in page
    assert "Enter your password." in page


def test_a_deactivated_user_cannot_sign_in(
    client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE users SET is_active = false WHERE id = %s", (shop.clerk_id,))
    response = login(client, shop.slug, shop.clerk_email)
    assert response.status_code == 400
    assert str(LOGIN_FAILED) in response.get_data(as_text=True)


def test_sign_out_is_a_post_with_csrf(owner_client: FlaskClient) -> None:
    assert owner_client.get("/logout").status_code == 405
    refused = owner_client.post("/logout")
    assert refused.status_code == 400
    assert "This form has expired" in refused.get_data(as_text=True)
    assert owner_client.get("/").status_code == 200  # still signed in

    token = csrf_token(owner_client, "/")
    response = owner_client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert owner_client.get("/").status_code == 302


def test_sign_in_without_csrf_token_is_refused(client: FlaskClient, shop: Shop) -> None:
    response = client.post(
        "/login",
        data={"business": shop.slug, "email": shop.owner_email, "password": PASSWORD},
    )
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_sign_in_starts_a_fresh_session(client: FlaskClient, shop: Shop) -> None:
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, shop.slug, shop.owner_email)
    with client.session_transaction() as session:
        assert "planted" not in session


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/?page=2", "/?page=2"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_after_sign_in_only_local_pages_are_followed(
    client: FlaskClient, shop: Shop, next_url: str, expected: str
) -> None:
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        query_string={"next": next_url},
        data={
            "csrf_token": token,
            "business": shop.slug,
            "email": shop.owner_email,
            "password": PASSWORD,
        },
    )
    assert response.headers["Location"] == expected


def test_guessing_one_account_is_throttled(client: FlaskClient, shop: Shop) -> None:
    statuses = [login(client, shop.slug, shop.owner_email, "guess").status_code for _ in range(6)]
    assert statuses == [400] * 5 + [429]
    page = login(client, shop.slug, shop.owner_email).get_data(as_text=True)
    assert "Too many attempts" in page  # even the right password waits


def test_many_accounts_from_one_address_are_throttled(client: FlaskClient, shop: Shop) -> None:
    statuses = [
        login(client, shop.slug, f"user{n}@example.com", "guess").status_code for n in range(31)
    ]
    assert statuses == [400] * 30 + [429]


def test_signed_out_visitors_are_sent_to_sign_in_from_every_page(app: Flask) -> None:
    """Deny by default: walk every route; only the allow-listed ones answer without a login."""
    from werkzeug.routing.converters import AnyConverter

    from webapp.auth.access import PUBLIC_ENDPOINTS, TOKEN_AUTH_BLUEPRINTS

    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        if rule.endpoint.partition(".")[0] in TOKEN_AUTH_BLUEPRINTS:
            continue
        values = {
            arg: sorted(converter.items)[0]  # type: ignore[attr-defined]
            if isinstance(converter := rule._converters.get(arg), AnyConverter)
            else "00000000-0000-0000-0000-000000000000"
            for arg in rule.arguments
        }
        path = rule.build(values)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            if method == "GET":
                assert response.status_code == 302, (method, path)
                assert response.headers["Location"].startswith("/login"), (method, path)
            else:
                # A POST without a session has no CSRF token either: refused before the view.
                assert response.status_code in (302, 400), (method, path)
            checked += 1
    assert checked >= 2


def test_a_deactivated_user_is_signed_out_at_the_next_request(
    clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    assert clerk_client.get("/").status_code == 200
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE users SET is_active = false WHERE id = %s", (shop.clerk_id,))
    response = clerk_client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_new_session_version_ends_older_sessions(
    clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    with psycopg.connect(database.admin) as conn:
        conn.execute(
            "UPDATE users SET session_version = session_version + 1 WHERE id = %s",
            (shop.clerk_id,),
        )
    assert clerk_client.get("/").status_code == 302


def test_a_session_cannot_be_pointed_at_another_business(
    clerk_client: FlaskClient, shop: Shop, other_shop: Shop
) -> None:
    """A's session secret under B's id finds no session under B's tenant."""
    with clerk_client.session_transaction() as session:
        business, _, secret = session["_user_id"].partition(":")
        assert business == str(shop.business_id)
        session["_user_id"] = f"{other_shop.business_id}:{secret}"
    assert clerk_client.get("/").status_code == 302


def test_security_headers_and_no_store(owner_client: FlaskClient) -> None:
    for path in ("/", "/login", "/no-such-page"):
        response = owner_client.get(path)
        headers = response.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"


def test_session_cookie_is_http_only_and_same_site(client: FlaskClient, shop: Shop) -> None:
    response = login(client, shop.slug, shop.owner_email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_errors_render_as_friendly_pages(owner_client: FlaskClient) -> None:
    response = owner_client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Not found" in page
    assert "Alpha Store" in page  # in the app's own layout


def test_throttling_can_be_shared_through_redis(database: DatabaseUrls, shop: Shop) -> None:
    """Several app servers share one count when RATELIMIT_STORAGE_URI names a Redis."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("set TEST_REDIS_URL (CI does) to check throttling through Redis")
    import redis

    redis.Redis.from_url(url).flushdb()
    apps = [create_app(app_config(database, RATELIMIT_STORAGE_URI=url)) for _ in range(2)]
    try:
        clients = [app.test_client() for app in apps]
        statuses = [
            login(clients[n % 2], shop.slug, shop.owner_email, "guess").status_code
            for n in range(6)
        ]
        assert statuses == [400] * 5 + [429]
    finally:
        redis.Redis.from_url(url).flushdb()
        # The limiter is one object for every app: point it back at memory for the others.
        apps.append(create_app(app_config(database)))
        for app in apps:
            app.extensions["shopcredit.db"].dispose()
