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

import functools
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


# Our tables, sequences, views and functions (not an extension's) that the connected role does
# not own, directly or through membership: the first by kind and name, and how many there are.
NOT_OWNED = """
SELECT count(*) OVER (), kind, name, pg_get_userbyid(owner)
  FROM (SELECT 'table' AS kind, c.relname AS name, c.relowner AS owner, c.oid,
               'pg_class'::regclass AS catalog
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
        UNION ALL
        SELECT 'function', p.proname, p.proowner, p.oid, 'pg_proc'::regclass
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public') ours
 WHERE NOT pg_has_role(current_user, owner, 'USAGE')
   AND NOT EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = ours.catalog AND d.objid = ours.oid AND d.deptype = 'e')
 ORDER BY kind DESC, name
 LIMIT 1
"""


def check_ownership(conn: psycopg.Connection) -> None:
    """Refuse, in one sentence, a role that does not own every table and function of ours: a
    migration or check would stop half-way on "permission denied". (A database restored by a
    superuser with --no-owner is owned by that superuser.)"""
    row = conn.execute(NOT_OWNED).fetchone()
    if row is None:
        return
    count, kind, name, owner = row
    who = conn.execute("SELECT current_user").fetchone()
    role = who[0] if who else "?"
    raise MigrationError(
        f"The role {role} does not own {count} of ShopCredit's tables and functions (the {kind} "
        f"{name} belongs to {owner}): run this as the role that owns them (DATABASE_ADMIN_URL); "
        "a database restored by a superuser with --no-owner must be restored again as that "
        "owner (README, Backup and restore)."
    )


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
            check_ownership(conn)
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


def readiness_problems(applied: list[tuple[str, str, str]]) -> list[str]:
    """What keeps this release from serving the database whose applied schema is `applied`
    ((kind, name, checksum) rows of `applied_schema()`); empty when it may serve.

    Every migration shipped here must be applied, unedited. Migrations applied that this release
    does not ship are fine: a newer release migrated first, and migrations only add, so the old
    servers keep serving until they are replaced. Every function file must have been applied; a
    different checksum is not a problem for the same reason (the newer release's definition
    keeps answering older callers) and is only reported by the caller."""
    migrations = {name: checksum for kind, name, checksum in applied if kind == "migration"}
    functions = {name for kind, name, _ in applied if kind == "function"}
    problems = []
    for migration in _shipped_migrations():
        if migration.name not in migrations:
            problems.append(f"migration {migration.name} is not applied")
        elif migrations[migration.name] != migration.checksum:
            problems.append(f"migration {migration.name} differs from the applied one")
    problems += [
        f"function file {file.name} is not applied"
        for file in _shipped_functions()
        if file.name not in functions
    ]
    return problems


def changed_functions(applied: list[tuple[str, str, str]]) -> list[str]:
    """Function files applied with another checksum than this release's (a newer or an older
    release's definition)."""
    checksums = {name: checksum for kind, name, checksum in applied if kind == "function"}
    return [
        file.name
        for file in _shipped_functions()
        if file.name in checksums and checksums[file.name] != file.checksum
    ]


@functools.cache
def _shipped_migrations() -> tuple[Migration, ...]:
    return tuple(discover())  # the files ship with the code: read once per process


@functools.cache
def _shipped_functions() -> tuple[Migration, ...]:
    return tuple(discover_functions())
