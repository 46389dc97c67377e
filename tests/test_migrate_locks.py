"""Upgrades that don't stop the tills: a migration waits for its locks only briefly (while it
waits, every query on that table queues behind it), gives up, and tries again after a pause;
index builds on tables with data run CONCURRENTLY, outside a transaction."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from webapp import embedded, migrate

HANG_GUARD = 60  # seconds: only so that a broken build fails instead of hanging the suite
NEW = "9990_customer_loyalty.sql"


@pytest.fixture
def migrated(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> tuple[embedded.DatabaseUrls, Path]:
    """A migrated database and a copy of sql/ with one new migration that needs an ACCESS
    EXCLUSIVE lock on customers."""
    urls = fresh_database()
    shutil.copytree(migrate.SQL_DIR, tmp_path / "sql")
    directory = tmp_path / "sql" / "migrations"
    migrate.upgrade(urls.admin, directory)
    (directory / NEW).write_text("ALTER TABLE customers ADD COLUMN loyalty_note text;\n")
    return urls, directory


def _has_column(admin_url: str) -> bool:
    with psycopg.connect(admin_url) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_name = 'customers' AND column_name = 'loyalty_note'"
        ).fetchone()
    return found is not None


def test_a_migration_behind_a_held_lock_times_out_retries_and_succeeds_after_release(
    migrated: tuple[embedded.DatabaseUrls, Path],
) -> None:
    urls, directory = migrated
    tries: list[tuple[str, int]] = []
    retried_twice = threading.Event()

    def on_retry(name: str, attempt: int) -> None:
        tries.append((name, attempt))
        if attempt >= 2:
            retried_twice.set()

    patience = migrate.Patience(lock_timeout="100ms", attempts=100, pause=0.05, on_retry=on_retry)
    # A long report: its transaction holds ACCESS SHARE on customers until it ends.
    with psycopg.connect(urls.admin) as report, ThreadPoolExecutor(max_workers=1) as pool:
        report.execute("SELECT count(*) FROM customers")
        upgrading = pool.submit(migrate.upgrade, urls.admin, directory, None, patience)
        assert retried_twice.wait(HANG_GUARD), "the migration never timed out on its lock"
        # Meanwhile a till reads customers: it waits at most one lock_timeout of the migration,
        # never until the report ends (its own 3 s timeout would end the wait first).
        with psycopg.connect(urls.admin) as till:
            till.execute("SET lock_timeout = '3s'")
            assert till.execute("SELECT count(*) FROM customers").fetchone() == (0,)
        assert not _has_column(urls.admin)
        report.rollback()  # the report ends; the next try takes the lock
        applied = upgrading.result(timeout=HANG_GUARD)

    assert applied == [NEW]
    assert tries[:2] == [(NEW, 1), (NEW, 2)]
    assert _has_column(urls.admin)
    with psycopg.connect(urls.admin) as conn:
        assert conn.execute(
            "SELECT count(*) FROM schema_migrations WHERE name = %s", (NEW,)
        ).fetchone() == (1,)


def test_a_migration_that_never_gets_its_lock_gives_up_in_one_sentence_having_changed_nothing(
    migrated: tuple[embedded.DatabaseUrls, Path],
) -> None:
    urls, directory = migrated
    patience = migrate.Patience(lock_timeout="50ms", attempts=3, pause=0.01)
    with psycopg.connect(urls.admin) as report:
        report.execute("SELECT count(*) FROM customers")
        with pytest.raises(migrate.MigrationError) as refused:
            migrate.upgrade(urls.admin, directory, patience=patience)
    message = str(refused.value)
    assert message.startswith(f"{NEW} could not take its locks (50ms each time, 3 tries)")
    assert "nothing of it was applied" in message
    assert "\n" not in message
    assert not _has_column(urls.admin)
    # Run again once the database is quiet: it applies.
    assert migrate.upgrade(urls.admin, directory, patience=patience) == [NEW]


def test_the_runner_sets_a_short_lock_timeout_in_each_migration(
    migrated: tuple[embedded.DatabaseUrls, Path],
) -> None:
    urls, directory = migrated
    (directory / NEW).write_text(
        "CREATE TABLE seen_timeout AS SELECT current_setting('lock_timeout') AS value;\n"
    )
    migrate.upgrade(urls.admin, directory)
    with psycopg.connect(urls.admin) as conn:
        assert conn.execute("SELECT value FROM seen_timeout").fetchone() == (migrate.LOCK_TIMEOUT,)


def test_an_index_on_a_table_with_data_is_built_concurrently_outside_a_transaction(
    migrated: tuple[embedded.DatabaseUrls, Path],
) -> None:
    urls, directory = migrated
    (directory / NEW).write_text(
        "-- migrate: no-transaction\n"
        "-- A big table: CONCURRENTLY lets sales go on while the index is built.\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_by_phone_test "
        "ON customers (business_id, phone);\n"
    )
    assert migrate.upgrade(urls.admin, directory) == [NEW]
    with psycopg.connect(urls.admin) as conn:
        valid = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'customers_by_phone_test'::regclass"
        ).fetchone()
        assert valid == (True,)
    assert migrate.upgrade(urls.admin, directory) == []


def test_a_failed_concurrent_build_is_never_recorded_and_says_how_to_recover(
    migrated: tuple[embedded.DatabaseUrls, Path],
) -> None:
    urls, directory = migrated
    (directory / NEW).write_text("CREATE TABLE twice AS SELECT 1 AS x UNION ALL SELECT 1;\n")
    (directory / "9991_unique.sql").write_text(
        "-- migrate: no-transaction\n"
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS twice_x ON twice (x);\n"
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        migrate.upgrade(urls.admin, directory)
    # Run again: IF NOT EXISTS finds the invalid index the failed build left; it is named.
    with pytest.raises(migrate.MigrationError, match=r"left the index twice_x invalid .* DROP"):
        migrate.upgrade(urls.admin, directory)
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        assert conn.execute(
            "SELECT count(*) FROM schema_migrations WHERE name = '9991_unique.sql'"
        ).fetchone() == (0,)
        conn.execute("DROP INDEX CONCURRENTLY twice_x")
        conn.execute("DELETE FROM twice WHERE ctid = (SELECT min(ctid) FROM twice)")
    assert migrate.upgrade(urls.admin, directory) == ["9991_unique.sql"]
