"""Faults while the app runs: a request's connection killed in the middle of a sale, the database
server stopped and started, a sale waiting on another till's lock. Each answers plainly, writes
nothing half-done, and the app carries on without a restart."""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    api_auth,
    app_config,
    csrf_token,
    dispose,
    fetch,
    ledger_violations,
    login,
    make_shop,
    sell,
)
from webapp import create_app, embedded, migrate
from webapp.embedded import DatabaseUrls

# What a user must never see, whatever failed underneath.
LEAKS = ("Traceback", "psycopg", "SQLSTATE", "OperationalError", "terminating", "server closed")
HANG_GUARD = 60  # seconds: only so that a broken build fails instead of hanging the suite


def _dbname(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


@contextmanager
def row_locked(admin_url: str, table: str, row_id: uuid.UUID) -> Iterator[psycopg.Connection]:
    """Another transaction holding one row (FOR UPDATE) until the block ends."""
    with psycopg.connect(admin_url) as conn:
        conn.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", (row_id,))
        try:
            yield conn
        finally:
            conn.rollback()


@contextmanager
def in_thread(work: Callable[[], TestResponse]) -> Iterator[Future[TestResponse]]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(work)


def lock_waiter(superuser_url: str, dbname: str) -> int:
    """The pid of the app's one connection waiting for a lock in `dbname`."""
    deadline = time.monotonic() + HANG_GUARD
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            pids = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s "
                "AND application_name = 'shopcredit' AND wait_event_type = 'Lock'",
                (dbname,),
            ).fetchall()
            if pids:
                assert len(pids) == 1, pids
                return int(pids[0][0])
            time.sleep(0.01)
    raise AssertionError("the sale never waited for the lock")


def assert_clean(response: TestResponse) -> str:
    body = response.get_data(as_text=True)
    for leak in LEAKS:
        assert leak not in body, (leak, body)
    return body


def sale_form(client: FlaskClient, customer: uuid.UUID, product: uuid.UUID) -> dict[str, Any]:
    return {
        "csrf_token": csrf_token(client, f"/sales/new?customer={customer}"),
        "customer_id": str(customer),
        "idempotency_key": str(uuid.uuid4()),
        "product": [str(product)],
        "quantity": ["2"],
    }


def api_sale(customer: uuid.UUID, product: uuid.UUID) -> dict[str, Any]:
    return {
        "customer_id": str(customer),
        "items": [{"product_id": str(product), "quantity": 2}],
        "idempotency_key": str(uuid.uuid4()),
    }


def ledger_state(admin_url: str, customer: uuid.UUID, product: uuid.UUID) -> dict[str, object]:
    return {
        "orders": fetch(admin_url, "SELECT count(*) FROM orders"),
        "items": fetch(admin_url, "SELECT count(*) FROM order_items"),
        "movements": fetch(admin_url, "SELECT count(*) FROM stock_movements"),
        "dues": fetch(admin_url, "SELECT due_on, shard, owed FROM open_dues ORDER BY 1, 2"),
        "stock": fetch(admin_url, "SELECT stock FROM products WHERE id = %s", product),
        "balance": fetch(
            admin_url, "SELECT balance, oldest_open_due_on FROM customers WHERE id = %s", customer
        ),
    }


@pytest.mark.parametrize("through", ["page", "api"])
def test_a_sale_whose_connection_is_killed_is_not_recorded_and_the_app_carries_on(
    app: Flask,
    clerk_client: FlaskClient,
    shop: Shop,
    database: DatabaseUrls,
    database_server: str,
    through: str,
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, price="5.00", stock=10)
    before = ledger_state(database.admin, customer, product)
    if through == "page":
        form = sale_form(clerk_client, customer, product)

        def send() -> TestResponse:
            return clerk_client.post("/sales/new", data=form)
    else:
        auth, body = api_auth(app, shop.slug), api_sale(customer, product)
        api = app.test_client()

        def send() -> TestResponse:
            return api.post("/api/purchase", json=body, headers=auth)

    # Hold the product: the sale takes the customer's lock (first in the lock order), then
    # waits for the product's. It is killed right there, holding the customer.
    with row_locked(database.admin, "products", product), in_thread(send) as sending:
        pid = lock_waiter(database_server, _dbname(database.admin))
        with (
            psycopg.connect(database.admin) as probe,
            pytest.raises(psycopg.errors.LockNotAvailable),
        ):
            probe.execute("SELECT 1 FROM customers WHERE id = %s FOR UPDATE NOWAIT", (customer,))
        with psycopg.connect(database_server, autocommit=True) as superuser:
            killed = superuser.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
        assert killed == (True,)
        response = sending.result(timeout=HANG_GUARD)

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    message = assert_clean(response)
    if through == "page":
        assert response.mimetype == "text/html"
        assert "Nothing was recorded" in message
        assert "try again" in message
    else:
        assert response.is_json
        assert "Nothing was recorded" in response.get_json()["details"]

    # Nothing of the sale exists, and the customer's lock went with the connection.
    assert ledger_state(database.admin, customer, product) == before
    assert ledger_violations(database.admin) == []
    with psycopg.connect(database.admin) as conn:
        conn.execute("SELECT 1 FROM customers WHERE id = %s FOR UPDATE NOWAIT", (customer,))

    # The same app answers the next request; sending the same sale again records it once.
    again = send()
    assert again.status_code == (302 if through == "page" else 201), again.get_data(as_text=True)
    assert send().status_code == (302 if through == "page" else 200)  # the same sale again
    assert fetch(database.admin, "SELECT count(*), sum(total) FROM orders")[0][0] == 1
    assert fetch(database.admin, "SELECT stock FROM products WHERE id = %s", product) == [(8,)]
    assert clerk_client.get("/").status_code == 200
    assert ledger_violations(database.admin) == []


def test_a_sale_waiting_too_long_for_another_tills_lock_answers_busy(
    app: Flask, clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, price="5.00", stock=10)
    form = sale_form(clerk_client, customer, product)
    auth, body = api_auth(app, shop.slug), api_sale(customer, product)
    api = app.test_client()
    before = ledger_state(database.admin, customer, product)

    # Both tills wait at once on the same held customer; lock_timeout ends each wait.
    with (
        row_locked(database.admin, "customers", customer),
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        page = pool.submit(clerk_client.post, "/sales/new", data=form)
        api_call = pool.submit(api.post, "/api/purchase", json=body, headers=auth)
        page_response = page.result(timeout=HANG_GUARD)
        api_response = api_call.result(timeout=HANG_GUARD)

    assert page_response.status_code == 409
    message = assert_clean(page_response)
    assert "Another till is busy with this customer. Nothing was recorded; try again." in message
    assert 'name="product"' in message  # the form again, with what was entered
    assert api_response.status_code == 503
    assert api_response.get_json() == {"error": "busy, try again"}
    assert ledger_state(database.admin, customer, product) == before
    # "Within a few seconds": what a wait may last in the app's own transactions (HANG_GUARD
    # only stops a wait that never ends; a 50 s lock_timeout would pass it).
    with app.extensions["shopcredit.db"].transaction(shop.business_id) as session:
        waits = session.execute(
            text("SELECT setting::int FROM pg_settings WHERE name = 'lock_timeout'")
        ).scalar()
    assert 0 < waits <= 10_000, f"lock_timeout is {waits} ms"

    # Once the other till is done, the same sale goes through (once each).
    assert clerk_client.post("/sales/new", data=form).status_code == 302
    assert api.post("/api/purchase", json=body, headers=auth).status_code == 201
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(2,)]
    assert ledger_violations(database.admin) == []


def test_pooled_connections_killed_while_idle_are_replaced_without_a_failed_request(
    clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls, database_server: str
) -> None:
    """A connection the server dropped while it sat in the pool (here: every idle backend of
    the app terminated) is seen at checkout, without a round trip, and replaced: the next
    requests succeed. (Behind PgBouncer the pooler replaces its server connections itself.)"""
    customer = add_customer(database.admin, shop.business_id)
    for _ in range(3):
        assert clerk_client.get(f"/customers/{customer}").status_code == 200
    dbname = _dbname(database.admin)
    login = psycopg.conninfo.conninfo_to_dict(database.app)["user"]  # this database's own
    with psycopg.connect(database_server, autocommit=True) as superuser:
        killed = [
            row[0]
            for row in superuser.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND state = 'idle' "
                "AND usename = %s",
                (dbname, login),
            ).fetchall()
        ]
        assert killed
        for pid in killed:
            superuser.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + HANG_GUARD
        while superuser.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (killed,)
        ).fetchone() != (0,):
            assert time.monotonic() < deadline, "the backends never ended"
            time.sleep(0.01)
    for _ in range(3):
        response = clerk_client.get(f"/customers/{customer}")
        assert response.status_code == 200, assert_clean(response)


def test_the_app_rides_out_a_database_restart() -> None:
    """The server stops under a running app and comes back: requests fail cleanly in between
    and succeed after, with the same app (no restart)."""
    folder = Path(tempfile.mkdtemp(prefix="shopcredit-test-restart-"))
    pgdata = folder / "pgdata"
    server: embedded.RunningServer | None = None
    app: Flask | None = None
    try:
        server = embedded.start_server(pgdata)
        urls = embedded.create_roles_and_database(server.url, "shopcredit")
        migrate.upgrade(urls.admin)
        app = create_app(app_config(urls))
        shop = make_shop(app, "restart-shop")
        customer = add_customer(urls.admin, shop.business_id)
        product = add_product(urls.admin, shop.business_id, price="5.00", stock=10)
        auth = api_auth(app, shop.slug)
        client, api = app.test_client(), app.test_client()
        assert login(client, shop.slug, shop.clerk_email).status_code == 302
        form = sale_form(client, customer, product)
        body = api_sale(customer, product)
        assert client.get("/").status_code == 200
        assert client.get(f"/customers/{customer}").status_code == 200

        server.stop()
        down = {
            "page": client.get("/"),
            "customer": client.get(f"/customers/{customer}"),
            "sale": client.post("/sales/new", data=form),
            "api": api.post("/api/purchase", json=body, headers=auth),
            "api read": api.get(f"/api/customers/{customer}", headers=auth),
            "readiness": api.get("/readyz"),
        }
        # The process is alive (a restart would not help): /healthz says so; /readyz does not.
        assert api.get("/healthz").status_code == 200
        for name, response in down.items():
            assert response.status_code == 503, name
            assert_clean(response)
            assert response.headers["Content-Security-Policy"], name
        assert "The database is not answering" in down["page"].get_data(as_text=True)
        assert "Nothing was recorded" in down["sale"].get_data(as_text=True)
        assert down["api"].is_json
        assert "Nothing was recorded" in down["api"].get_json()["details"]

        first_url, server = server.url, embedded.start_server(pgdata)
        assert server.url == first_url  # the same socket: the app's URLs still hold
        assert client.get("/readyz").status_code == 200
        assert client.get("/").status_code == 200  # still signed in: sessions are cookies
        assert client.post("/sales/new", data=form).status_code == 302
        assert api.post("/api/purchase", json=body, headers=auth).status_code == 201
        assert api.get(f"/api/customers/{customer}", headers=auth).get_json()["balance"] == "20.00"
        assert fetch(urls.admin, "SELECT count(*) FROM orders") == [(2,)]
        assert ledger_violations(urls.admin) == []
    finally:
        if app is not None:
            dispose(app)
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_sale_caught_in_a_deadlock_is_retried_and_recorded_once(
    app: Flask, database: DatabaseUrls, database_server: str, shop: Shop
) -> None:
    """A real deadlock: another transaction (not ShopCredit's: it takes its locks in the wrong
    order) holds the product and then asks for the customer the sale holds. PostgreSQL aborts
    the sale's transaction (its deadlock check runs first: 1 s against the other's 30 s); the
    ledger runs the sale again once the other has finished, and it is recorded exactly once."""
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, stock=10)
    test_db = _dbname(database.admin)
    superuser = psycopg.conninfo.make_conninfo(database_server, dbname=test_db)

    def deadlocks() -> int:
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_force_next_flush()")
            return int(
                conn.execute(
                    "SELECT deadlocks FROM pg_stat_database WHERE datname = %s", (test_db,)
                ).fetchone()[0]
            )

    # A backend counts its deadlocks in the shared statistics when it next reports, which an
    # idle pooled connection may put off for seconds: close the app's pooled connections (a
    # backend reports as it exits) and wait for the count to settle, so that an earlier test's
    # deadlock is never counted as this one's.
    app.extensions["shopcredit.db"].dispose()
    before, settled = deadlocks(), time.monotonic() + 1.5
    while time.monotonic() < settled:
        time.sleep(0.25)
        now = deadlocks()
        if now != before:
            before, settled = now, time.monotonic() + 1.5
    with psycopg.connect(superuser) as other, ThreadPoolExecutor(max_workers=2) as pool:
        other.execute("SET deadlock_timeout = '30s'")
        other.execute("SELECT 1 FROM products WHERE id = %s FOR UPDATE", (product,))
        sale = pool.submit(sell, app, shop, customer, product, 2)  # holds the customer, waits
        lock_waiter(database_server, test_db)
        wrong_order = pool.submit(
            other.execute, "SELECT 1 FROM customers WHERE id = %s FOR UPDATE", (customer,)
        )
        wrong_order.result(timeout=HANG_GUARD)  # the sale was aborted, its customer lock freed
        other.commit()
        order = sale.result(timeout=HANG_GUARD)

    deadline = time.monotonic() + HANG_GUARD
    while deadlocks() == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert deadlocks() == before + 1  # there was one, and the sale was its victim
    assert fetch(database.admin, "SELECT id FROM orders") == [(order,)]
    assert fetch(database.admin, "SELECT stock FROM products") == [(8,)]
    assert ledger_violations(database.admin) == []
