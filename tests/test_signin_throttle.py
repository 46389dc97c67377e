"""No lockout of a known account (issue 15, item 5): failed sign-ins are limited per account and
address and per address, with a wait that doubles; the account-wide limit never holds back an
address that signed in to the account lately; every throttle is logged; several workers on
memory:// storage are warned about at start."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import PASSWORD, Shop, app_config, csrf_token
from webapp import create_app
from webapp.auth import throttle
from webapp.config import worker_count
from webapp.embedded import DatabaseUrls
from webapp.extensions import limiter

ATTACKER = "203.0.113.66"
OWNER_AT_HOME = "198.51.100.7"


def attempt(
    client: FlaskClient, shop: str, email: str, password: str, address: str
) -> TestResponse:
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "business": shop, "email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def end_the_wait(app: Flask, shop: str, email: str, address: str) -> None:
    """As if the wait had passed: forget the lock (not the count of failures)."""
    with app.test_request_context():
        for _, key, _ in throttle.Attempt(shop, email, address).scopes():
            limiter.storage.clear(f"signin:lock:{key}")


def test_guessing_an_account_does_not_lock_its_owner_out(
    app: Flask, shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    attacker, owner = app.test_client(), app.test_client()
    emails = [shop.owner_email, shop.owner_email.upper(), shop.owner_email.title()]
    statuses = [
        attempt(attacker, shop.slug, emails[n % 3], "guess", ATTACKER).status_code for n in range(5)
    ]
    assert statuses == [400] * 5
    refused = attempt(attacker, shop.slug, shop.owner_email, PASSWORD, ATTACKER)
    assert refused.status_code == 429  # even the right password waits, from there
    assert refused.headers["Retry-After"] == "60"
    assert "Too many attempts" in refused.get_data(as_text=True)
    # Each failure and the throttle are logged with the shop code and the address (the log's
    # real output, JSON lines on stderr), never the password or the email.
    output = capsys.readouterr().err
    lines = [json.loads(line) for line in output.splitlines()]
    failures = [line for line in lines if line["event"] == "sign_in_failed"]
    (throttled,) = [line for line in lines if line["event"] == "sign_in_throttled"]
    assert len(failures) == 5
    assert len({line["account"] for line in failures}) == 1  # one account, however capitalised
    assert throttled["shop"] == shop.slug and throttled["address"] == ATTACKER
    assert throttled["retry_after"] == 60 and throttled["level"] == "warning"
    assert PASSWORD not in output and "guess" not in output
    assert shop.owner_email not in output.lower()

    # The real owner, from their own address, signs in at once.
    assert attempt(owner, shop.slug, shop.owner_email, PASSWORD, OWNER_AT_HOME).status_code == 302


def test_the_wait_doubles_with_each_further_failure(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    for _ in range(5):
        attempt(client, shop.slug, shop.owner_email, "guess", ATTACKER)
    waits = []
    for _ in range(3):
        refused = attempt(client, shop.slug, shop.owner_email, "guess", ATTACKER)
        assert refused.status_code == 429
        waits.append(refused.headers["Retry-After"])
        end_the_wait(app, shop.slug, shop.owner_email, ATTACKER)
        assert attempt(client, shop.slug, shop.owner_email, "guess", ATTACKER).status_code == 400
    assert waits == ["60", "120", "240"]
    assert attempt(client, shop.slug, shop.owner_email, "x", ATTACKER).headers["Retry-After"] == (
        "480"
    )


def test_a_success_starts_the_account_and_address_again(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    for _ in range(4):
        attempt(client, shop.slug, shop.clerk_email, "typo", OWNER_AT_HOME)
    assert attempt(client, shop.slug, shop.clerk_email, PASSWORD, OWNER_AT_HOME).status_code == 302
    other = app.test_client()
    statuses = [
        attempt(other, shop.slug, shop.clerk_email, "typo", OWNER_AT_HOME).status_code
        for _ in range(5)
    ]
    assert statuses == [400] * 5


@pytest.fixture
def strict_app(database: DatabaseUrls) -> Iterator[Flask]:
    """An app whose account-wide limit is 3 failures (from anywhere)."""
    strict = create_app(app_config(database, LOGIN_FAILURES_PER_ACCOUNT=3))
    yield strict
    strict.extensions["shopcredit.db"].dispose()
    limiter.reset()


def test_the_account_wide_limit_never_refuses_an_address_that_signed_in_lately(
    strict_app: Flask, shop: Shop
) -> None:
    home = strict_app.test_client()
    assert attempt(home, shop.slug, shop.owner_email, PASSWORD, OWNER_AT_HOME).status_code == 302

    botnet = [f"192.0.2.{n}" for n in range(1, 4)]
    for address in botnet:
        client = strict_app.test_client()
        assert attempt(client, shop.slug, shop.owner_email, "guess", address).status_code == 400
    # A new address now waits for this account (the right password included)...
    stranger = attempt(strict_app.test_client(), shop.slug, shop.owner_email, PASSWORD, "192.0.2.9")
    assert stranger.status_code == 429
    assert int(stranger.headers["Retry-After"]) > 0
    # ...but the owner's address, which signed in within 30 days, does not.
    again = attempt(strict_app.test_client(), shop.slug, shop.owner_email, PASSWORD, OWNER_AT_HOME)
    assert again.status_code == 302
    # Other accounts of the shop are not held back at all.
    clerk = attempt(strict_app.test_client(), shop.slug, shop.clerk_email, PASSWORD, "192.0.2.9")
    assert clerk.status_code == 302


@pytest.mark.parametrize(
    ("environ", "argv", "workers"),
    [
        ({}, ["pytest"], 1),
        ({"WEB_CONCURRENCY": "4"}, ["pytest"], 4),
        ({"GUNICORN_CMD_ARGS": "--bind 0.0.0.0:80 --workers 3"}, ["x"], 3),
        ({}, ["/srv/venv/bin/gunicorn", "-w", "5", "wsgi:app"], 5),
        ({}, ["/usr/lib/python3/site-packages/gunicorn/__main__.py", "--workers=2"], 2),
        ({"SHOPCREDIT_WORKERS": "6", "WEB_CONCURRENCY": "4"}, ["x"], 6),
    ],
)
def test_the_worker_count_is_read_from_gunicorn_settings(
    environ: dict[str, str], argv: list[str], workers: int
) -> None:
    assert worker_count(environ, argv) == workers


@pytest.mark.parametrize(("workers", "warned"), [(1, False), (4, True)])
def test_several_workers_counting_in_memory_are_warned_about_at_start(
    database: DatabaseUrls, caplog: pytest.LogCaptureFixture, workers: int, warned: bool
) -> None:
    with caplog.at_level(logging.WARNING):
        started = create_app(
            app_config(database, WORKERS=workers, RATELIMIT_STORAGE_URI="memory://")
        )
    started.extensions["shopcredit.db"].dispose()
    warnings = [r.getMessage() for r in caplog.records if "memory://" in r.getMessage()]
    assert bool(warnings) == warned
    if warned:
        assert "4 workers" in warnings[0]
