"""Database fixtures: a real PostgreSQL for every test that touches data, never a mock.

The server is the one in TEST_DATABASE_URL (a superuser URL, e.g. this machine's
postgresql://postgres@127.0.0.1:5432/test), or else an embedded PostgreSQL started for the run.
Either way the suite makes its own database with the owner and app roles, applies the
migrations, and drops it at the end. Tests that commit are isolated by truncating every table
after them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.ci_passes import deselect_other_pass
from tests.helpers import Shop, app_config, dispose, login, make_shop, through_pooler
from webapp import create_app, embedded, migrate
from webapp.extensions import limiter
from webapp.models import TENANT_TABLES


@pytest.fixture(scope="session")
def database_server() -> Iterator[str]:
    """A superuser URL on a running PostgreSQL server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    # Not under pytest's own temporary folder: another pytest starting meanwhile makes that
    # folder private again, and the server (which runs as its own user) would lose its data.
    folder = Path(tempfile.mkdtemp(prefix="shopcredit-test-pg-"))
    server = embedded.start_server(folder / "pgdata", delete_on_exit=True)
    yield server.url
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def instance() -> Iterator[Path]:
    """An instance folder outside pytest's temporary folder (see database_server)."""
    folder = Path(tempfile.mkdtemp(prefix="shopcredit-test-instance-"))
    yield folder / "instance"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def fresh_database(database_server: str) -> Iterator[Callable[[], embedded.DatabaseUrls]]:
    """Makes empty databases (owner and app roles ready, no schema) and drops them at the end."""
    made: list[str] = []

    def make() -> embedded.DatabaseUrls:
        name = f"shopcredit_test_{os.getpid()}_{len(made)}"
        embedded.drop_database(database_server, name)
        made.append(name)
        return embedded.create_roles_and_database(database_server, name)

    yield make
    for name in made:
        embedded.drop_database(database_server, name)


@pytest.fixture(scope="session")
def database(fresh_database: Callable[[], embedded.DatabaseUrls]) -> embedded.DatabaseUrls:
    """The suite's database, migrated."""
    urls = fresh_database()
    migrate.upgrade(urls.admin)
    return urls


@pytest.fixture(scope="session")
def app(database: embedded.DatabaseUrls) -> Iterator[Flask]:
    # Every request of the suite's app through PgBouncer when the run has one; the tests' own
    # connections stay direct (some set session-level values a pooler would hand on).
    app = create_app(app_config(through_pooler(database)))
    yield app
    dispose(app)


@pytest.fixture(autouse=True)
def _isolate(request: pytest.FixtureRequest) -> Iterator[None]:
    """After any test that used the database: empty every table, reset login throttling."""
    yield
    if "database" not in request.fixturenames:
        return
    urls: embedded.DatabaseUrls = request.getfixturevalue("database")
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TENANT_TABLES)}, businesses CASCADE")
    if "app" in request.fixturenames:
        limiter.reset()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def shop(app: Flask) -> Shop:
    return make_shop(app, "alpha-store", "Alpha Store")


@pytest.fixture
def other_shop(app: Flask) -> Shop:
    return make_shop(app, "beta-store", "Beta Store")


@pytest.fixture
def owner_client(client: FlaskClient, shop: Shop) -> FlaskClient:
    response = login(client, shop.slug, shop.owner_email)
    assert response.status_code == 302
    return client


@pytest.fixture
def clerk_client(client: FlaskClient, shop: Shop) -> FlaskClient:
    response = login(client, shop.slug, shop.clerk_email)
    assert response.status_code == 302
    return client


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Keep each phase's report on the test, so fixtures can see whether it failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    deselect_other_pass(config, items)  # CI's two passes share the checks (tests/ci_passes.py)


pytest_plugins = ["tests.browser"]
