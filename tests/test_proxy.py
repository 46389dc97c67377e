"""Behind a TLS-terminating proxy (SHOPCREDIT_TRUSTED_PROXIES=1): forms post over https with or
without a Referer, also when the proxy does not pass the public Host; a form from another site
is refused; X-Forwarded-* count only from the proxy's address."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import PASSWORD, Shop, app_config, csrf_token, fetch
from webapp import create_app
from webapp.embedded import DatabaseUrls

PUBLIC_HOST = "shop.example.com"
PROXY = "127.0.0.1"  # the proxy on this machine, as the README's deployment has it
# What a proxy that passes everything adds to each request.
FORWARDED = {
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_HOST": PUBLIC_HOST,
    "HTTP_X_FORWARDED_FOR": "198.51.100.20",
}
KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


@pytest.fixture
def proxied(database: DatabaseUrls) -> Iterator[Flask]:
    """The app as deployed behind one proxy (cookies not Secure only so that the test client,
    which speaks http to the app like the proxy does, sends them back)."""
    app = create_app(app_config(database, TRUSTED_PROXIES=1))
    yield app
    app.extensions["shopcredit.db"].dispose()


def _client(app: Flask, **environ: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": PROXY, **environ})
    return client


def _sign_in(client: FlaskClient, shop: Shop, **headers: str) -> TestResponse:
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={
            "csrf_token": token,
            "business": shop.slug,
            "email": shop.owner_email,
            "password": PASSWORD,
        },
        headers=headers,
    )


def test_forms_post_over_https_without_a_referer(
    proxied: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    client = _client(proxied, **FORWARDED)
    assert client.get("/login").headers["Strict-Transport-Security"]  # it knows it is https
    signed_in = _sign_in(client, shop)  # no Referer, no Origin: a browser that sends neither
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)
    page = client.get("/customers/new").get_data(as_text=True)
    match = KEY.search(page)
    assert match
    created = client.post(
        "/customers/new",
        data={
            "csrf_token": csrf_token(client, "/customers/new"),
            "idempotency_key": match.group(1),
            "name": "Proxied Customer",
        },
        headers={"Sec-Fetch-Site": "same-origin", "Origin": f"https://{PUBLIC_HOST}"},
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    assert fetch(database.admin, "SELECT name FROM customers") == [("Proxied Customer",)]


# The proxy did not pass the public Host: the app sees its own address; the browser names the
# public one in its Referer and Origin.
UNPASSED_HOST = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "127.0.0.1:8000"}
BROWSER = {
    "Referer": f"https://{PUBLIC_HOST}/login",
    "Origin": f"https://{PUBLIC_HOST}",
    "Sec-Fetch-Site": "same-origin",
}


def test_forms_post_when_the_proxy_does_not_pass_the_public_host(
    proxied: Flask, shop: Shop
) -> None:
    response = _sign_in(_client(proxied, **UNPASSED_HOST), shop, **BROWSER)
    assert response.status_code == 302, response.get_data(as_text=True)


def test_the_referer_check_this_replaces_refused_both(database: DatabaseUrls, shop: Shop) -> None:
    """Flask-WTF's own https check (WTF_CSRF_SSL_STRICT) is what answered "This form has
    expired": without a Referer, and with a Referer naming a Host the app does not see."""
    app = create_app(app_config(database, TRUSTED_PROXIES=1, WTF_CSRF_SSL_STRICT=True))
    try:
        without_referer = _sign_in(_client(app, **FORWARDED), shop)
        other_host = _sign_in(_client(app, **UNPASSED_HOST), shop, **BROWSER)
    finally:
        app.extensions["shopcredit.db"].dispose()
    for response in (without_referer, other_host):
        assert response.status_code == 400
        assert "This form has expired" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": f"https://evil.{PUBLIC_HOST}"},
        # A browser from before Sec-Fetch-Site: its Origin names another site.
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
)
def test_a_form_sent_from_another_site_is_refused(
    proxied: Flask, database: DatabaseUrls, shop: Shop, headers: dict[str, str]
) -> None:
    client = _client(proxied, **FORWARDED)
    response = _sign_in(client, shop, **headers)  # even with a valid token (a leaked one)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Sent from another site" in page
    assert client.get("/").status_code == 302  # not signed in
    assert fetch(database.admin, "SELECT count(*) FROM user_sessions") == [(0,)]


def test_an_old_browser_naming_the_public_origin_may_post(proxied: Flask, shop: Shop) -> None:
    client = _client(proxied, **FORWARDED)
    response = _sign_in(client, shop, Origin=f"https://{PUBLIC_HOST}")
    assert response.status_code == 302


def _failures(client: FlaskClient, shop: Shop, spoofed: list[str]) -> list[int]:
    statuses = []
    for n, address in enumerate(spoofed):
        token = csrf_token(client, "/login")
        statuses.append(
            client.post(
                "/login",
                data={
                    "csrf_token": token,
                    "business": shop.slug,
                    "email": f"guess{n}@example.com",
                    "password": "guess",
                },
                headers={"X-Forwarded-For": address},
            ).status_code
        )
    return statuses


def test_a_client_not_behind_the_proxy_cannot_spoof_its_address(
    database: DatabaseUrls, shop: Shop
) -> None:
    """Someone reaching the app server directly (not from the proxy's address) sends a new
    X-Forwarded-For each time: every attempt is still counted against their own address, and
    the 31st waits like anyone's."""
    app = create_app(app_config(database, TRUSTED_PROXIES=1, LOGIN_FAILURES_PER_ADDRESS=5))
    try:
        direct = _client(app, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_PROTO="https")
        statuses = _failures(direct, shop, [f"192.0.2.{n}" for n in range(6)])
        assert statuses == [400] * 5 + [429]
        # It did not get https either: no HSTS for a client that only claimed it.
        assert "Strict-Transport-Security" not in direct.get("/login").headers

        # Through the proxy, X-Forwarded-For is the client's address: each client its own count.
        through_proxy = _client(app)
        statuses = _failures(through_proxy, shop, [f"192.0.2.{n}" for n in range(6)])
        assert statuses == [400] * 6
    finally:
        app.extensions["shopcredit.db"].dispose()


def test_the_proxy_addresses_are_checked_at_start() -> None:
    from webapp.config import ConfigError, from_environ

    with pytest.raises(ConfigError, match="SHOPCREDIT_PROXY_ADDRESSES must be IP addresses"):
        from_environ({"SHOPCREDIT_PROXY_ADDRESSES": "proxy.internal"})
    config = from_environ({"SHOPCREDIT_PROXY_ADDRESSES": "10.0.0.0/8, 192.0.2.1"})
    assert [str(network) for network in config["PROXY_ADDRESSES"]] == ["10.0.0.0/8", "192.0.2.1/32"]
