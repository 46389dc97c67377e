"""The log as an operator reads it: JSON lines on stderr (read here as written, through pytest's
capture of the real stream), one per request, and events worth attention; never a bound value."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Shop, add_customer, add_product, api_auth
from webapp.embedded import DatabaseUrls

REQUEST_KEYS = {
    "ts",
    "level",
    "event",
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "business_id",
    "user_id",
}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Every line written to stderr since the last call; each must be one JSON object."""
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_each_request_is_one_json_line_with_who_asked(
    owner_client: FlaskClient, shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    log_lines(capsys)  # what signing in wrote
    response = owner_client.get(
        "/customers?q=Ada+Lovelace&sort=name", headers={"X-Request-ID": "till-7.req:42"}
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "till-7.req:42"
    output = capsys.readouterr().err
    (line,) = [json.loads(text) for text in output.splitlines()]
    assert line.keys() >= REQUEST_KEYS
    assert line["event"] == "request" and line["level"] == "info"
    assert TIMESTAMP.fullmatch(line["ts"])
    assert line["request_id"] == "till-7.req:42"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/customers", 200)
    assert line["endpoint"] == "customers.index"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["business_id"] == str(shop.business_id)
    assert line["user_id"] == str(shop.owner_id)
    assert "Lovelace" not in output  # the query string (what was searched) is never logged


@pytest.mark.parametrize(
    "sent", ["", "two words", "x" * 129, "<script>", "line\\nbreak", "ünïcode"]
)
def test_a_request_id_that_is_not_sane_is_replaced(
    client: FlaskClient, capsys: pytest.CaptureFixture[str], sent: str
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    made = response.headers["X-Request-ID"]
    assert made != sent and re.fullmatch(r"[0-9a-f]{32}", made)
    (line,) = log_lines(capsys)
    assert line["request_id"] == made
    assert line["business_id"] is None and line["user_id"] is None


@contextmanager
def names_refused(admin_url: str, name: str) -> Iterator[None]:
    """A rule the database holds and the app does not know: inserting `name` fails."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE customers ADD CONSTRAINT test_refused CHECK (name <> '{name}')")
    try:
        yield
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE customers DROP CONSTRAINT test_refused")


def test_a_failing_statement_is_logged_with_its_traceback_but_not_its_values(
    app: Flask, database: DatabaseUrls, shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    auth = api_auth(app, shop.slug)
    client = app.test_client()
    name, phone, email = "Zed Secretname", "+44 7700 900123", "zed@private.example"
    log_lines(capsys)
    with names_refused(database.admin, name):
        response = client.post(
            "/api/customers", json={"name": name, "phone": phone, "email": email}, headers=auth
        )
    assert response.status_code == 500
    output = capsys.readouterr().err
    # (Parts of the phone long enough that no id in the log can hold them by chance: "7700"
    # alone once turned up inside the shop's random id.)
    for secret in (name, "Secretname", phone, "7700 900", "900123", email):
        assert secret not in output
    lines = [json.loads(text) for text in output.splitlines()]
    (error,) = [line for line in lines if line["event"] == "unhandled_error"]
    (request,) = [line for line in lines if line["event"] == "request"]
    assert error["level"] == "error"
    assert error["request_id"] == request["request_id"] == response.headers["X-Request-ID"]
    assert error["business_id"] == str(shop.business_id)
    # Enough to find it: where it was raised, what kind of error, which constraint.
    assert "Traceback (most recent call last)" in error["traceback"]
    assert "webapp/customers/operations.py" in error["traceback"]
    assert "CheckViolation" in error["traceback"] and "test_refused" in error["traceback"]
    assert "INSERT INTO customers" in error["traceback"]  # the statement, with placeholders
    assert (request["status"], request["level"]) == (500, "error")


def test_a_value_the_database_refuses_is_logged_without_the_value(
    app: Flask, shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data exception's own message quotes the value (`invalid input syntax … "…"`): only
    its SQLSTATE is written."""
    from sqlalchemy import text
    from sqlalchemy.exc import DataError

    from webapp.db import get_db
    from webapp.serving import logs

    secret = "Ada Secret"
    with app.app_context(), get_db().engine.connect() as conn, pytest.raises(DataError) as caught:
        conn.execute(text("SELECT CAST(:v AS numeric)"), {"v": secret})
    described = logs.describe(caught.value.orig)  # type: ignore[arg-type]
    assert described == "SQLSTATE 22P02"
    assert secret not in logs.safe_traceback(caught.value)
    # The engine hides bound values (hide_parameters), but the database's own message quotes
    # this one: which is why a database error is written by `describe`, never as its text.
    assert "SQL parameters hidden" in str(caught.value)


def test_ledger_refusals_are_logged_with_their_reason(
    app: Flask, database: DatabaseUrls, shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    auth = api_auth(app, shop.slug)
    customer = add_customer(database.admin, shop.business_id, credit_limit="5.00")
    product = add_product(database.admin, shop.business_id, price="10.00", stock=1)
    log_lines(capsys)
    body = {"customer_id": str(customer), "items": [{"product_id": str(product), "quantity": 1}]}
    first = app.test_client().post("/api/purchase", json=body, headers=auth)
    body["items"][0]["quantity"] = 2
    second = app.test_client().post("/api/purchase", json=body, headers=auth)
    assert (first.status_code, second.status_code) == (409, 409)
    refusals = [line for line in log_lines(capsys) if line["event"] == "ledger_refused"]
    assert [(line["function"], line["reason"]) for line in refusals] == [
        ("process_purchase", "credit_limit_exceeded"),
        ("process_purchase", "insufficient_stock"),
    ]
    assert {line["business_id"] for line in refusals} == {str(shop.business_id)}
    assert all(line["user_id"] == str(shop.owner_id) for line in refusals)  # the token's maker


def test_a_cross_site_form_and_a_failed_sign_in_are_events(
    client: FlaskClient, shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers import csrf_token

    token = csrf_token(client, "/login")
    data = {"csrf_token": token, "business": shop.slug, "email": "who@x.example", "password": "p"}
    client.post("/login", data=data)
    client.post("/login", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    events = [line["event"] for line in log_lines(capsys) if line["event"] != "request"]
    assert events == ["sign_in_failed", "cross_origin_refused"]


def test_every_line_is_json_even_from_a_library() -> None:
    import logging

    from webapp.serving.logs import JsonFormatter

    record = logging.LogRecord(
        "somelib", logging.WARNING, __file__, 1, "odd\nline %s", ("x",), None
    )
    line = json.loads(JsonFormatter().format(record))
    assert (line["event"], line["logger"], line["message"]) == ("log", "somelib", "odd\nline x")
    assert "\n" not in JsonFormatter().format(record)  # one line: a value cannot forge another
