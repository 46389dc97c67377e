"""The tenant directory (migration 0018): every shop code and API token hash is found there,
kept by triggers whoever writes the business or token, backfilled for what existed before, and
never readable by the app role (only through the sign-in and token lookups)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Shop, api_auth, csrf_token, fetch, migrated_before, old_owner, old_shop
from webapp import embedded, migrate
from webapp.api.tokens import hash_token
from webapp.embedded import DatabaseUrls


def test_a_new_business_and_its_tokens_are_in_the_directory(
    app: Flask, shop: Shop, owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    assert fetch(database.admin, "SELECT slug, business_id, placement FROM business_directory") == [
        (shop.slug, shop.business_id, "main")
    ]
    # A token made by the CLI (the owner role) and one made on the settings page (the app role,
    # which has no grant on the directory: the trigger writes as the tables' owner).
    header = api_auth(app, shop.slug)
    page = owner_client.post(
        "/settings/tokens",
        data={
            "csrf_token": csrf_token(owner_client, "/settings/tokens"),
            "name": "back office",
            "idempotency_key": str(uuid.uuid4()),
        },
    )
    assert page.status_code == 201, page.get_data(as_text=True)
    shown = re.search(r"sc_[A-Za-z0-9_-]{20,}", page.get_data(as_text=True))
    assert shown is not None
    tokens = {header["Authorization"].removeprefix("Bearer "), shown.group(0)}
    listed = fetch(
        database.admin,
        "SELECT d.token_hash, d.business_id FROM token_directory d "
        "JOIN api_tokens t ON (t.business_id, t.id) = (d.business_id, d.token_id)",
    )
    assert sorted(listed) == sorted((hash_token(token), shop.business_id) for token in tokens)
    # Both tokens answer through the directory.
    client = app.test_client()
    for token in tokens:
        answer = client.get("/api/customers", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200


def test_the_app_role_cannot_read_the_directory(database: DatabaseUrls, shop: Shop) -> None:
    for table in ("business_directory", "token_directory"):
        with (
            psycopg.connect(database.app) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute(f"SELECT * FROM {table}")


def test_businesses_and_tokens_from_before_0018_are_backfilled(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    urls = fresh_database()
    migrated_before(urls.admin, "0018", tmp_path)
    with psycopg.connect(urls.admin) as conn:
        business = old_shop(conn)
        owner = old_owner(conn, business)
        token = conn.execute(
            "INSERT INTO api_tokens (business_id, name, token_hash, created_by) "
            "VALUES (%s, 'till', 'abc123', %s) RETURNING id",
            (business, owner),
        ).fetchone()[0]
    migrate.upgrade(urls.admin)
    assert fetch(urls.admin, "SELECT slug, business_id FROM business_directory") == [
        ("old-shop", business)
    ]
    assert fetch(urls.admin, "SELECT token_hash, business_id, token_id FROM token_directory") == [
        ("abc123", business, token)
    ]
    with psycopg.connect(urls.app) as conn:
        found = conn.execute("SELECT business_id, token_id FROM api_token_lookup('abc123')")
        assert found.fetchall() == [(business, token)]
        found = conn.execute("SELECT business_id FROM login_lookup('OLD-SHOP', 'o@old.test')")
        assert found.fetchall() == [(business,)]
