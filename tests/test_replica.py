"""Reads on a read-only replica: the API's GETs (token check included) and the read-only pages
write nothing, so they work on a connection where every write fails — as on a streaming
replica. The "replica" here is the suite's database through a login that is a member of the app
role with `default_transaction_read_only = on`: any write through it is refused by PostgreSQL,
whatever the app does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    api_auth,
    app_config,
    dispose,
    fetch,
    login,
    redate_sale,
    sell,
)
from webapp import create_app
from webapp.api.common import pending_uses
from webapp.db import Database
from webapp.embedded import APP_GROUP, DatabaseUrls, role_url

READER = "shopcredit_read_only_test"  # cluster-wide, like the app role; made once, kept


def _make_reader(server_url: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,)).fetchone():
            return
        try:
            conn.execute(f"CREATE ROLE {READER} LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE {APP_GROUP}")
        except psycopg.errors.DuplicateObject:  # another run made it meanwhile
            return
        conn.execute(f"ALTER ROLE {READER} SET default_transaction_read_only = on")


@pytest.fixture(scope="module")
def read_only_url(database_server: str, database: DatabaseUrls) -> str:
    _make_reader(database_server)
    dbname = str(psycopg.conninfo.conninfo_to_dict(database.admin)["dbname"])
    with psycopg.connect(database_server, autocommit=True) as conn:  # each login its database
        conn.execute(f'GRANT CONNECT ON DATABASE "{dbname}" TO {READER}')
    return role_url(database_server, READER, dbname)


def _app(**config: object) -> Iterator[Flask]:
    app = create_app(config)
    yield app
    dispose(app)


@pytest.fixture(scope="module")
def replica_app(database: DatabaseUrls, read_only_url: str) -> Iterator[Flask]:
    """The app as deployed with a replica: DATABASE_REPLICA_URL read-only."""
    yield from _app(**app_config(database, DATABASE_REPLICA_URL=read_only_url))


@pytest.fixture(scope="module")
def read_only_app(database: DatabaseUrls, read_only_url: str) -> Iterator[Flask]:
    """The whole app on a read-only connection (no primary at all for requests)."""
    yield from _app(**app_config(database, DATABASE_URL=read_only_url))


def test_the_read_only_login_really_refuses_writes(read_only_url: str, shop: Shop) -> None:
    with (
        psycopg.connect(read_only_url) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("SELECT set_config('app.business_id', %s, true)", (str(shop.business_id),))
        conn.execute("UPDATE businesses SET name = 'x'")


@pytest.fixture
def shop_with_a_sale(app: Flask, shop: Shop, database: DatabaseUrls) -> dict[str, uuid.UUID]:
    customer = add_customer(database.admin, shop.business_id, "Ada Replica", phone="+254700000001")
    product = add_product(database.admin, shop.business_id, "Rice", price="5.00")
    order = sell(app, shop, customer, product, 2)
    redate_sale(database.admin, order, due_in_days=-10)
    return {"customer": customer, "product": product, "order": order}


def test_every_api_get_works_on_a_read_only_connection_and_writes_nothing(
    app: Flask,
    read_only_app: Flask,
    shop: Shop,
    shop_with_a_sale: dict[str, uuid.UUID],
    database: DatabaseUrls,
) -> None:
    auth = api_auth(app, shop.slug)
    client = read_only_app.test_client()
    ids = shop_with_a_sale
    paths = [
        "/api/customers",
        f"/api/customers/{ids['customer']}",
        "/api/products?q=ric",
        f"/api/products/{ids['product']}",
        f"/api/sales/{ids['order']}",
        "/api/overdue",
    ]
    for path in paths:
        response = client.get(path, headers=auth)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
    assert client.get(paths[0]).status_code == 401  # still checked
    # A write through the read-only connection fails: this really was one.
    refused = client.post("/api/customers", json={"name": "New"}, headers=auth)
    assert refused.status_code >= 500
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(1,)]

    # The token's use is noted, and written to the primary by the next flush.
    assert fetch(database.admin, "SELECT last_used_at FROM api_tokens") == [(None,)]
    with read_only_app.app_context():
        assert pending_uses().pending() == 1
    _flush_into_primary(read_only_app, database)
    assert fetch(database.admin, "SELECT last_used_at IS NOT NULL FROM api_tokens") == [(True,)]


def _flush_into_primary(app: Flask, database: DatabaseUrls) -> None:
    """A deployment's flusher writes through the primary; this app's own connection is
    read-only, so its noted uses are handed to a primary-backed flush."""
    with app.app_context():
        uses = pending_uses()
        uses._database = Database(database.app, None)
        try:
            uses.flush()
        finally:
            uses._database.dispose()
        assert uses.pending() == 0


def _statements(database: Database) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"primary": [], "replica": []}
    for name, engine in (("primary", database.engine), ("replica", database.replica_engine)):
        assert engine is not None

        def record(*args: object, name: str = name) -> None:
            seen[name].append(str(args[2]))

        event.listen(engine, "before_cursor_execute", record)
    return seen


def test_read_only_pages_and_api_gets_read_from_the_replica(
    app: Flask, replica_app: Flask, shop: Shop, shop_with_a_sale: dict[str, uuid.UUID]
) -> None:
    client: FlaskClient = replica_app.test_client()
    assert login(client, shop.slug, shop.clerk_email).status_code == 302
    seen = _statements(replica_app.extensions["shopcredit.db"])
    customer = shop_with_a_sale["customer"]
    pages = [
        "/overdue",
        "/overdue/print",
        "/overdue.csv",
        "/customers",
        f"/customers/{customer}/statement",
        "/sales",
        "/payments",
    ]
    for path in pages:
        seen["primary"].clear()
        seen["replica"].clear()
        response = client.get(path)
        assert response.status_code == 200, path
        if path.startswith(("/overdue", "/customers")):
            assert "Ada Replica" in response.get_data(as_text=True), path
        # The primary only checked who is signed in; the page's own reads went to the replica.
        assert seen["replica"], path
        assert all(
            "user_sessions" in sql or sql.startswith("SET LOCAL") for sql in seen["primary"]
        ), (path, seen["primary"])

    auth = api_auth(app, shop.slug)
    api = replica_app.test_client()
    seen["primary"].clear()
    seen["replica"].clear()
    assert api.get(f"/api/customers/{customer}", headers=auth).status_code == 200
    assert seen["primary"] == []
    assert seen["replica"]
    # A write goes to the primary.
    made = api.post("/api/customers", json={"name": "Through the primary"}, headers=auth)
    assert made.status_code == 201
    assert any("INSERT" in sql for sql in seen["primary"])
