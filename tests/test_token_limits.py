"""API tokens (issue 15, items 4 and 11): deactivating a user revokes their tokens for good, the
token list says whose and why a token was revoked, and each token may make only the shop's
requests a minute (429 with Retry-After above it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Shop, api_auth, csrf_token, fetch, migrated_before, old_shop
from tests.test_settings import GOOD, TOKEN_VALUE, token_form
from webapp import embedded, migrate
from webapp.db import get_db
from webapp.embedded import DatabaseUrls
from webapp.settings.operations import issue_token


def token_of(app: Flask, shop: Shop, maker: uuid.UUID, name: str) -> dict[str, str]:
    with app.app_context(), get_db().admin_transaction() as session:
        _, plain = issue_token(session, business_id=shop.business_id, name=name, created_by=maker)
    return {"Authorization": f"Bearer {plain}"}


def status(app: Flask, auth: dict[str, str]) -> int:
    return app.test_client().get("/api/customers", headers=auth).status_code


def staff_change(owner: FlaskClient, user_id: uuid.UUID, change: str) -> None:
    token = csrf_token(owner, f"/staff/{user_id}")
    assert owner.post(f"/staff/{user_id}/{change}", data={"csrf_token": token}).status_code == 302


def test_deactivating_the_maker_revokes_their_tokens_for_good(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    fetch(
        database.admin, "UPDATE users SET role = 'owner' WHERE id = %s RETURNING id", shop.clerk_id
    )
    theirs = token_of(app, shop, shop.clerk_id, "Carl's till")
    mine = token_of(app, shop, shop.owner_id, "Olive's till")
    assert status(app, theirs) == 200

    staff_change(owner_client, shop.clerk_id, "deactivate")
    assert status(app, theirs) == 401
    staff_change(owner_client, shop.clerk_id, "reactivate")
    assert status(app, theirs) == 401  # reactivation does not bring it back
    assert status(app, mine) == 200  # other makers' tokens go on

    assert fetch(
        database.admin,
        "SELECT name, revoked_reason, revoked_by FROM api_tokens ORDER BY name",
    ) == [("Carl's till", "maker_deactivated", shop.owner_id), ("Olive's till", None, None)]
    page = owner_client.get("/settings/tokens").get_data(as_text=True)
    assert "maker deactivated" in page


def test_a_revoked_token_says_who_revoked_it_and_never_works_again(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    made = owner_client.post("/settings/tokens", data=token_form(owner_client, "front till"))
    match = TOKEN_VALUE.search(made.get_data(as_text=True))
    assert match
    auth = {"Authorization": f"Bearer {match.group(1)}"}
    assert status(app, auth) == 200
    ((token_id,),) = fetch(database.admin, "SELECT id FROM api_tokens")
    owner_client.post(
        f"/settings/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(owner_client, "/settings/tokens")},
    )
    assert status(app, auth) == 401
    page = owner_client.get("/settings/tokens").get_data(as_text=True)
    assert "Revoked by Olive Owner" in page
    assert fetch(database.admin, "SELECT revoked_reason, revoked_by FROM api_tokens") == [
        ("revoked", shop.owner_id)
    ]


def test_migration_0013_gives_revoked_tokens_a_reason_and_revokes_deactivated_makers(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    urls = fresh_database()
    migrated_before(urls.admin, "0013", tmp_path)
    with psycopg.connect(urls.admin) as conn:
        business = old_shop(conn)
        users = {}
        for name, active in (("Ann", True), ("Ben", False)):
            users[name] = conn.execute(
                "INSERT INTO users (business_id, email, name, password_hash, role, is_active) "
                "VALUES (%s, %s, %s, 'x', 'owner', %s) RETURNING id",
                (business, f"{name}@old.test", name, active),
            ).fetchone()[0]
        for name, maker, revoked in (
            ("kept", "Ann", False),
            ("revoked before", "Ann", True),
            ("of a deactivated maker", "Ben", False),
        ):
            conn.execute(
                "INSERT INTO api_tokens (business_id, name, token_hash, created_by, revoked_at) "
                "VALUES (%s, %s, %s, %s, CASE WHEN %s THEN now() END)",
                (business, name, uuid.uuid4().hex, users[maker], revoked),
            )
    migrate.upgrade(urls.admin)
    assert fetch(
        urls.admin,
        "SELECT name, revoked_at IS NOT NULL, revoked_reason FROM api_tokens ORDER BY name",
    ) == [
        ("kept", False, None),
        ("of a deactivated maker", True, "maker_deactivated"),
        ("revoked before", True, "unrecorded"),
    ]


def test_each_token_is_limited_to_the_shops_requests_a_minute(
    app: Flask, shop: Shop, other_shop: Shop, database: DatabaseUrls
) -> None:
    fetch(
        database.admin,
        "UPDATE businesses SET api_requests_per_minute = 3 WHERE id = %s RETURNING id",
        shop.business_id,
    )
    till, other_till = api_auth(app, shop.slug), api_auth(app, shop.slug)
    client = app.test_client()
    assert [client.get("/api/customers", headers=till).status_code for _ in range(3)] == [200] * 3
    refused = client.post("/api/customers", json={"name": "Zed"}, headers=till)
    assert refused.status_code == 429
    assert refused.get_json() == {"error": "too many requests"}
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(0,)]  # nothing done
    # Per token: the shop's other till and another shop's go on.
    assert status(app, other_till) == 200
    assert status(app, api_auth(app, other_shop.slug)) == 200


def test_owners_set_the_allowance_in_settings(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    data = {"csrf_token": csrf_token(owner_client, "/settings"), **GOOD}
    refused = owner_client.post("/settings", data={**data, "api_requests_per_minute": "0"})
    assert refused.status_code == 400
    assert "from 1 to 100000" in refused.get_data(as_text=True)
    saved = owner_client.post("/settings", data={**data, "api_requests_per_minute": "1200"})
    assert saved.status_code == 302
    assert fetch(
        database.admin,
        "SELECT api_requests_per_minute FROM businesses WHERE id = %s",
        shop.business_id,
    ) == [(1200,)]
