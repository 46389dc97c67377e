"""Applies sql/migrations/NNNN_*.sql in order, each once, each in its own transaction.

Forward-only: an applied file is never run again, and an applied file that was edited since is
refused by name (write a new migration instead). An advisory lock makes concurrent runs (two
app servers starting at once) take turns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).resolve().parent / "sql" / "migrations"
# Any fixed 64-bit number; it only has to be the same in every process that migrates.
ADVISORY_LOCK_ID = 0x5C0DE_C4ED17


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    files = sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    return [Migration(path.name, path.read_text(encoding="utf-8")) for path in files]


def upgrade(admin_url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    migrations = discover(directory)
    applied_now: list[str] = []
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_ID,))
        try:
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            rows = conn.execute("SELECT name, checksum FROM schema_migrations").fetchall()
            applied: dict[str, str] = dict(rows)
            for migration in migrations:
                if migration.name in applied:
                    if applied[migration.name] != migration.checksum:
                        raise MigrationError(
                            f"Migration {migration.name} was edited after it was applied; "
                            "applied migrations are never changed, add a new one instead."
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)",
                        (migration.name, migration.checksum),
                    )
                applied_now.append(migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_ID,))
    return applied_now
