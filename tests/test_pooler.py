"""What running behind PgBouncer in transaction mode needs, checked on whatever the run's app role
connects through (CI's service pass: PgBouncer, TEST_PGBOUNCER_URL; the embedded pass: direct):
every transaction starts bound to its own business (or none) with lock_timeout 5 s, nothing of
one transaction's settings reaches another client's, nothing is prepared on the server, and
nothing is sent as a startup parameter."""

from __future__ import annotations

import os
import threading
import uuid

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text

from tests.helpers import Shop, add_customer, at_once, through_pooler
from webapp.db import Database, binding
from webapp.embedded import DatabaseUrls

SETTINGS = text(
    """SELECT current_setting('lock_timeout') AS lock_timeout,
              current_business_id() AS business_id,
              (SELECT count(*) FROM customers) AS customers,
              (SELECT count(*) FROM pg_prepared_statements) AS prepared"""
)


def _database(app: Flask) -> Database:
    database: Database = app.extensions["shopcredit.db"]
    return database


def test_the_run_goes_through_pgbouncer_when_it_has_one(app: Flask) -> None:
    pooler = os.environ.get("TEST_PGBOUNCER_URL")
    if not pooler:
        pytest.skip("no TEST_PGBOUNCER_URL: the app role connects directly in this run")
    port = psycopg.conninfo.conninfo_to_dict(pooler)["port"]
    assert _database(app).engine.url.port == int(port)
    # PgBouncer's own admin console answers on that port: it is a pooler, not a server.
    with psycopg.connect(pooler, dbname="pgbouncer", user="postgres", autocommit=True) as conn:
        config = {row[0]: row[1] for row in conn.execute("SHOW CONFIG").fetchall()}
    assert config["pool_mode"] == "transaction"


def test_every_transaction_has_lock_timeout_5s_with_or_without_a_business(
    app: Flask, shop: Shop
) -> None:
    database = _database(app)
    for business in (shop.business_id, None):
        with database.transaction(business) as session:
            row = session.execute(SETTINGS).one()
        assert row.lock_timeout == "5s"
        assert row.business_id == business
    with database.admin_transaction() as session:
        assert session.execute(text("SHOW lock_timeout")).scalar() == "5s"


def test_the_app_sends_no_startup_parameter_a_pooler_refuses(app: Flask) -> None:
    """PgBouncer refuses `options` ("unsupported startup parameter"); lock_timeout is set per
    transaction instead."""
    engine = _database(app).engine
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        sent = psycopg.conninfo.conninfo_to_dict(raw.info.dsn)
        assert raw.prepare_threshold is None
    assert "options" not in sent
    # Outside a transaction of ours nothing is left set on the connection.
    with engine.connect() as conn:
        assert conn.execute(text("SHOW lock_timeout")).scalar() == "0"


def test_the_same_statements_from_many_clients_are_never_prepared_on_the_server(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    """psycopg prepares a statement on its fifth run by default; through a pooler in transaction
    mode the next transaction may be on another server connection ("prepared statement does not
    exist"). Eight threads run one statement 25 times each: no error, nothing prepared."""
    add_customer(database.admin, shop.business_id)
    db = _database(app)

    def work(_index: int) -> set[int]:
        prepared = set()
        for _ in range(25):
            with db.transaction(shop.business_id) as session:
                row = session.execute(SETTINGS).one()
                assert row.customers == 1
                prepared.add(row.prepared)
        return prepared

    results = at_once(8, work)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert set().union(*results) == {0}  # type: ignore[arg-type]


def test_a_business_bound_by_one_client_never_reaches_another(
    app: Flask, shop: Shop, other_shop: Shop, database: DatabaseUrls
) -> None:
    """Clients of three kinds share the pool (and, behind PgBouncer, its server connections):
    each of two shops' tills, and requests with no business yet (sign-in). Each transaction
    sees exactly its own business; one that binds none sees nothing — even after a careless
    client of the same pooler left a session-level business on a server connection."""
    add_customer(database.admin, shop.business_id, "Alpha's")
    add_customer(database.admin, other_shop.business_id, "Beta's")
    db = _database(app)
    # A careless client: session-level (not transaction-level) settings on a server connection
    # that goes back to the pool for the next client.
    for _ in range(5):
        with psycopg.connect(through_pooler(database).app, autocommit=True) as careless:
            careless.execute(
                "SELECT set_config('app.business_id', %s, false)", (str(other_shop.business_id),)
            )
    # The app's own pool: a connection left with a session-level business (a bug elsewhere)
    # goes back to the pool and is reused.
    with db.engine.connect() as conn:
        conn.exec_driver_sql(
            f"SELECT set_config('app.business_id', '{other_shop.business_id}', false)"
        )
        conn.commit()
    expected = {shop.business_id: "Alpha's", other_shop.business_id: "Beta's", None: None}
    clients = [shop.business_id, other_shop.business_id, None]
    wrong: list[tuple[object, object]] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        business = clients[index % 3]
        for _ in range(20):
            with db.transaction(business) as session:
                bound = session.execute(text("SELECT current_business_id()")).scalar()
                names = session.execute(text("SELECT name FROM customers")).scalars().all()
            seen = (bound, names)
            want = (business, [expected[business]] if business else [])
            if seen != want:
                with lock:
                    wrong.append((want, seen))

    results = at_once(9, work)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert wrong == []


def test_the_binding_is_one_statement_with_the_business_in_canonical_form() -> None:
    business = uuid.uuid4()
    assert binding(business) == (
        f"SET LOCAL app.business_id = '{business}'; SET LOCAL lock_timeout = '5s'"
    )
    assert binding(None).startswith("SET LOCAL app.business_id = '';")
    assert binding(business, read_only=True).endswith("; SET LOCAL transaction_read_only = on")
    with pytest.raises(ValueError):
        binding("x'; DROP TABLE customers; --")  # type: ignore[arg-type]
