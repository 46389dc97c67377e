"""Applies sql/migrations/NNNN_*.sql in order, each once, then sql/functions/*.sql whenever changed.

Migrations are forward-only: an applied file is never run again, and an applied file that was
edited since is refused by name (write a new migration instead). Tables, types and data changes
live there.

Each SQL function's current definition lives in its own file, sql/functions/<name>.sql
(`CREATE OR REPLACE FUNCTION`, with its grants). After the migrations, every function file whose
sha256 differs from the one recorded in `schema_functions` (or that was never applied) is run
again, like Flyway's repeatable migrations: change a function by editing its file. They run in
file-name order, after every migration, so a function file may rely on every table and type but
a migration never on a function file. Changing a function's arguments or result takes a
migration that drops the old one as well, since CREATE OR REPLACE cannot.

Every file runs in its own transaction. An advisory lock makes concurrent runs (two app
servers starting at once) take turns.

On a live database a migration must never queue the shop's sales behind it for long: a DDL
statement waiting for its lock holds up every query that comes after it on that table. So each
file runs with a short `lock_timeout` (LOCK_TIMEOUT, SET LOCAL in its transaction); when it
cannot have its locks in that time it is rolled back whole and tried again after a pause, up to
ATTEMPTS times, then the runner stops with one sentence naming the file (nothing of it applied).

A migration whose first line is `-- migrate: no-transaction` runs outside a transaction, for
`CREATE INDEX CONCURRENTLY` on a table that already holds data (which no transaction may run):
such a file holds exactly one statement, written to be run again safely (`IF NOT EXISTS`), and
is recorded as applied once it has run and left no invalid index. See README, "Migrations on a
live database".
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import errors

SQL_DIR = Path(__file__).resolve().parent / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
FUNCTIONS_DIR = SQL_DIR / "functions"
# How upgrade() names a function file it applied, to tell it from a migration.
FUNCTIONS_PREFIX = "functions/"
# Any fixed 64-bit number; it only has to be the same in every process that migrates.
ADVISORY_LOCK_ID = 0x5C0DE_C4ED17
# How long one statement of a migration may wait for a lock (meanwhile the tills' queries on that
# table wait behind it), how often a file is tried, and the first pause between tries (doubling,
# at most MAX_PAUSE): about two minutes in all before giving up.
LOCK_TIMEOUT = "2s"
ATTEMPTS = 10
PAUSE = 1.0
MAX_PAUSE = 15.0
NO_TRANSACTION = "-- migrate: no-transaction"

log = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    """One SQL file: a versioned migration or a function file."""

    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def in_transaction(self) -> bool:
        return not self.sql.startswith(NO_TRANSACTION)


@dataclass(frozen=True)
class Patience:
    """How a file waits for its locks: lock_timeout per try, tries, first pause (seconds)."""

    lock_timeout: str = LOCK_TIMEOUT
    attempts: int = ATTEMPTS
    pause: float = PAUSE
    # Told of each try that timed out (file name, try number): logged by default.
    on_retry: Callable[[str, int], None] | None = None


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    files = sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    return [Migration(path.name, path.read_text(encoding="utf-8")) for path in files]


def discover_functions(directory: Path = FUNCTIONS_DIR) -> list[Migration]:
    """The function files, in the order they are applied (by name)."""
    files = sorted(directory.glob("*.sql"))
    return [Migration(path.name, path.read_text(encoding="utf-8")) for path in files]


def upgrade(
    admin_url: str,
    directory: Path = MIGRATIONS_DIR,
    functions: Path | None = None,
    patience: Patience | None = None,
) -> list[str]:
    """Apply pending migrations, then every function file that changed; return what was applied,
    in order: migration file names (`0005_ledger_signatures.sql`), then function files as
    `functions/<name>.sql`. Empty when everything was up to date.

    `functions` is the folder of function files; by default the `functions` folder beside
    `directory`, and none when there is no such folder (a test's copy of the migrations alone).
    `patience`: how each file waits for its locks (module constants by default).
    """
    patience = patience or Patience()
    migrations = discover(directory)
    if functions is None:
        functions = directory.parent / "functions"
        function_files = discover_functions(functions) if functions.is_dir() else []
    elif functions.is_dir():
        function_files = discover_functions(functions)
    else:
        raise MigrationError(f"There is no folder of function files at {functions}.")
    applied_now: list[str] = []
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_ID,))
        try:
            applied_now += _apply_migrations(conn, migrations, patience)
            applied_now += [
                FUNCTIONS_PREFIX + name for name in _apply_functions(conn, function_files, patience)
            ]
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_ID,))
    return applied_now


def _patiently(conn: psycopg.Connection, file: Migration, patience: Patience, record: str) -> None:
    """Run one file and record it (`record`, with the file's name and checksum), trying again
    while it times out waiting for a lock; each try is all or nothing."""
    if not file.in_transaction:
        _concurrently(conn, file, record)
        return
    pause = patience.pause
    for attempt in range(1, patience.attempts + 1):
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = '{patience.lock_timeout}'")
                conn.execute(file.sql)
                conn.execute(record, (file.name, file.checksum))
            return
        except errors.LockNotAvailable:
            if attempt == patience.attempts:
                break
            (patience.on_retry or _log_retry)(file.name, attempt)
            time.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)
    raise MigrationError(
        f"{file.name} could not take its locks ({patience.lock_timeout} each time, "
        f"{patience.attempts} tries): other sessions kept the tables busy; nothing of it was "
        "applied, run the upgrade again when the database is quieter."
    )


def _concurrently(conn: psycopg.Connection, file: Migration, record: str) -> None:
    """A `-- migrate: no-transaction` file: its one statement (CREATE INDEX CONCURRENTLY) runs
    on its own. Its lock (SHARE UPDATE EXCLUSIVE) never stops a till's reads or writes, so it
    waits as long as it must, without lock_timeout. A build that failed leaves an invalid index,
    which IF NOT EXISTS would then keep: such a file is not recorded until none is left."""
    conn.execute(file.sql)
    invalid = [
        row[0]
        for row in conn.execute(
            "SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_class c "
            "ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT i.indisvalid AND n.nspname = 'public'"
        ).fetchall()
    ]
    if invalid:
        raise MigrationError(
            f"{file.name} left the index {', '.join(invalid)} invalid (its build failed "
            "or was cancelled): drop it with DROP INDEX CONCURRENTLY and run the upgrade again."
        )
    conn.execute(record, (file.name, file.checksum))


def _log_retry(name: str, attempt: int) -> None:
    log.warning("%s waited too long for a lock (try %d); trying again.", name, attempt)


RECORD_MIGRATION = "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)"
RECORD_FUNCTION = """INSERT INTO schema_functions (name, checksum) VALUES (%s, %s)
                     ON CONFLICT (name) DO UPDATE
                     SET checksum = excluded.checksum, applied_at = now()"""


def _apply_migrations(
    conn: psycopg.Connection, migrations: list[Migration], patience: Patience
) -> list[str]:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               name text PRIMARY KEY,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    applied: dict[str, str] = dict(
        conn.execute("SELECT name, checksum FROM schema_migrations").fetchall()
    )
    applied_now = []
    for migration in migrations:
        if migration.name in applied:
            if applied[migration.name] != migration.checksum:
                raise MigrationError(
                    f"Migration {migration.name} was edited after it was applied; "
                    "applied migrations are never changed, add a new one instead."
                )
            continue
        _patiently(conn, migration, patience, RECORD_MIGRATION)
        applied_now.append(migration.name)
    return applied_now


def _apply_functions(
    conn: psycopg.Connection, files: list[Migration], patience: Patience
) -> list[str]:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_functions (
               name text PRIMARY KEY,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    applied: dict[str, str] = dict(
        conn.execute("SELECT name, checksum FROM schema_functions").fetchall()
    )
    applied_now = []
    for file in files:
        if applied.get(file.name) == file.checksum:
            continue
        _patiently(conn, file, patience, RECORD_FUNCTION)
        applied_now.append(file.name)
    return applied_now
