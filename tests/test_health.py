"""/healthz (the process answers) and /readyz (it can serve: database reachable and writable,
Redis when used, every shipped migration applied, no drain asked for)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import app_config
from webapp import create_app, migrate
from webapp.embedded import DatabaseUrls


@contextmanager
def started(config: dict[str, object]) -> Iterator[FlaskClient]:
    app = create_app(config)
    try:
        yield app.test_client()
    finally:
        app.extensions["shopcredit.db"].dispose()


def _checks(client: FlaskClient) -> tuple[int, dict[str, str]]:
    response = client.get("/readyz")
    body = response.get_json()
    assert body["status"] == ("ready" if response.status_code == 200 else "not ready")
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, body["checks"]


def test_a_migrated_database_is_ready(client: FlaskClient) -> None:
    assert client.get("/healthz").get_data(as_text=True) == "ok"
    assert _checks(client) == (200, {"drain": "no", "database": "ok", "redis": "not used"})


def test_a_drain_file_turns_readiness_off_while_everything_is_served(
    app: Flask, client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drain = tmp_path / "drain"
    monkeypatch.setitem(app.config, "DRAIN_FILE", str(drain))
    assert _checks(client)[0] == 200
    drain.touch()
    assert _checks(client) == (503, {"drain": "draining", "database": "ok", "redis": "not used"})
    assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 200  # still serving while the balancer drains
    drain.unlink()
    assert _checks(client)[0] == 200


def test_a_database_without_the_schema_is_not_ready(
    fresh_database: Callable[[], DatabaseUrls], capsys: pytest.CaptureFixture[str]
) -> None:
    urls = fresh_database()  # roles and database, no migrations
    with started(app_config(urls)) as client:
        assert _checks(client)[1]["database"] == "not migrated"
        migrate.upgrade(urls.admin)
        assert _checks(client) == (200, {"drain": "no", "database": "ok", "redis": "not used"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    (not_ready,) = [line for line in lines if line["event"] == "not_ready"]
    assert not_ready["level"] == "warning"
    assert "run db upgrade" in not_ready["details"]["database"][0]


@contextmanager
def changed(admin_url: str, change: str, undo: str) -> Iterator[None]:
    """Each statement of `change` (separated by ";") on its own, then `undo`'s likewise."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for statement in change.split(";"):
            conn.execute(statement)
    try:
        yield
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for statement in undo.split(";"):
                conn.execute(statement)


def test_applied_migrations_must_match_the_shipped_ones(
    client: FlaskClient, database: DatabaseUrls, capsys: pytest.CaptureFixture[str]
) -> None:
    last = migrate.discover()[-1]
    capsys.readouterr()
    with changed(
        database.admin,
        f"UPDATE schema_migrations SET name = 'gone' WHERE name = '{last.name}'",
        f"UPDATE schema_migrations SET name = '{last.name}' WHERE name = 'gone'",
    ):
        assert _checks(client) == (
            503,
            {"drain": "no", "database": "not migrated", "redis": "not used"},
        )
    with changed(
        database.admin,
        f"UPDATE schema_migrations SET checksum = 'edited' WHERE name = '{last.name}'",
        f"UPDATE schema_migrations SET checksum = '{last.checksum}' WHERE name = '{last.name}'",
    ):
        assert _checks(client)[0] == 503
    details = [
        json.loads(line)["details"]["database"]
        for line in capsys.readouterr().err.splitlines()
        if '"not_ready"' in line
    ]
    assert details == [
        [f"migration {last.name} is not applied"],
        [f"migration {last.name} differs from the applied one"],
    ]
    # A newer release migrated first (rolling upgrade): this one's servers stay ready.
    with changed(
        database.admin,
        "INSERT INTO schema_migrations (name, checksum) VALUES ('9999_newer.sql', 'x');"
        "UPDATE schema_functions SET checksum = 'newer' WHERE name = 'process_purchase.sql'",
        "DELETE FROM schema_migrations WHERE name = '9999_newer.sql';"
        "UPDATE schema_functions SET checksum = "
        f"'{_function_checksum('process_purchase.sql')}' WHERE name = 'process_purchase.sql'",
    ):
        assert _checks(client)[0] == 200


def _function_checksum(name: str) -> str:
    (found,) = [f for f in migrate.discover_functions() if f.name == name]
    return found.checksum


def test_a_read_only_database_is_not_ready(database: DatabaseUrls) -> None:
    """What a replica, or a primary turned read-only, answers: the pages would fail to write."""
    name = psycopg.conninfo.conninfo_to_dict(database.app)["dbname"]
    with (
        changed(
            database.admin,
            f'ALTER DATABASE "{name}" SET default_transaction_read_only = on',
            # This connection is read-only too, by that very setting: write for this session only.
            "SET default_transaction_read_only = off;"
            f'ALTER DATABASE "{name}" RESET default_transaction_read_only',
        ),
        started(app_config(database)) as client,
    ):  # its new connections take the setting
        assert _checks(client)[1]["database"] == "read-only"


def test_redis_is_checked_when_the_limits_are_counted_there(database: DatabaseUrls) -> None:
    try:
        with started(app_config(database, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")) as down:
            status, checks = _checks(down)
        assert (status, checks["redis"]) == (503, "unreachable")
        url = os.environ.get("TEST_REDIS_URL")  # CI's Redis: answering, so ready
        if url:
            with started(app_config(database, RATELIMIT_STORAGE_URI=url)) as up:
                assert _checks(up) == (200, {"drain": "no", "database": "ok", "redis": "ok"})
    finally:
        # The limiter is one object for every app: point it back at memory for the others.
        with started(app_config(database)):
            pass


def test_the_app_role_reads_only_names_and_checksums(database: DatabaseUrls) -> None:
    with psycopg.connect(database.app) as conn:
        rows = conn.execute("SELECT kind, name, checksum FROM applied_schema()").fetchall()
        assert {kind for kind, _, _ in rows} == {"migration", "function"}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM schema_migrations")
