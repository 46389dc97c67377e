"""The migration runner: in order, once each, edits refused, concurrent runs take turns."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from webapp import embedded, migrate


def _applied(admin_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(admin_url) as conn:
        return conn.execute("SELECT name, checksum FROM schema_migrations ORDER BY name").fetchall()


def test_applies_every_migration_to_an_empty_database_then_nothing(
    fresh_database: Callable[[], embedded.DatabaseUrls],
) -> None:
    urls = fresh_database()
    names = [m.name for m in migrate.discover()]
    assert names and names == sorted(names)

    assert migrate.upgrade(urls.admin) == names
    assert [name for name, _ in _applied(urls.admin)] == names
    assert migrate.upgrade(urls.admin) == []  # a second run is a no-op
    with psycopg.connect(urls.admin) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
    assert {
        "businesses",
        "users",
        "customers",
        "products",
        "orders",
        "order_items",
        "payments",
        "payment_allocations",
        "api_tokens",
        "stock_movements",
    } <= tables


def test_an_edited_applied_migration_is_refused_by_name(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    urls = fresh_database()
    directory = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, directory)
    migrate.upgrade(urls.admin, directory)
    first = sorted(directory.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited afterwards\n")

    with pytest.raises(migrate.MigrationError, match=first.name):
        migrate.upgrade(urls.admin, directory)


def test_a_failing_migration_leaves_nothing_behind(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    urls = fresh_database()
    directory = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, directory)
    migrate.upgrade(urls.admin, directory)
    (directory / "9998_half.sql").write_text(
        "CREATE TABLE half_done (id int);\nSELECT no_such_function();\n"
    )

    with pytest.raises(psycopg.errors.UndefinedFunction):
        migrate.upgrade(urls.admin, directory)
    with psycopg.connect(urls.admin) as conn:
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)
    assert "9998_half.sql" not in {name for name, _ in _applied(urls.admin)}


def test_concurrent_upgrades_apply_each_migration_once(
    fresh_database: Callable[[], embedded.DatabaseUrls],
) -> None:
    urls = fresh_database()
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate.upgrade(urls.admin))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    names = [m.name for m in migrate.discover()]
    assert sorted(results, key=len) == [[], [], [], names]
    assert [name for name, _ in _applied(urls.admin)] == names
