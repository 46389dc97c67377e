"""Starting up: configuration from the environment, and refusing unsafe deployments."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.helpers import app_config
from webapp import create_app, embedded
from webapp.config import ConfigError, from_environ
from webapp.db import EMITS_TEXT, DatabaseRoleProblem, UnsafeDatabaseRole

ROOT = Path(__file__).resolve().parent.parent


def test_an_external_database_without_a_secret_key_is_refused(
    database: embedded.DatabaseUrls,
) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app(app_config(database, SECRET_KEY=None))


def test_plain_and_prefixed_names_are_read() -> None:
    config = from_environ(
        {
            "SHOPCREDIT_DATABASE_URL": "postgresql://app@db/shop",
            "DATABASE_ADMIN_URL": "postgresql://owner@db/shop",
            "SECRET_KEY": "s3cret",
            "SHOPCREDIT_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        }
    )
    assert config["DATABASE_URL"] == "postgresql://app@db/shop"
    assert config["DATABASE_ADMIN_URL"] == "postgresql://owner@db/shop"
    assert config["SECRET_KEY"] == "s3cret"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["SESSION_COOKIE_SECURE"] is True  # production is https
    assert config["EMBEDDED_DATABASE"] is False


def test_no_database_url_means_embedded() -> None:
    config = from_environ({})
    assert config["EMBEDDED_DATABASE"] is True
    assert config["SESSION_COOKIE_SECURE"] is False


def test_the_server_refuses_to_start_with_one_sentence(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SHOPCREDIT_") and key not in ("SECRET_KEY", "DATABASE_URL")
    }
    env["DATABASE_URL"] = "postgresql://shopcredit_app@127.0.0.1:1/shopcredit"
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "ShopCredit will not start: SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_start_is_refused_when_the_app_role_is_a_superuser(
    database_server: str, database: embedded.DatabaseUrls
) -> None:
    superuser = psycopg.conninfo.conninfo_to_dict(database_server).get("user") or "postgres"
    dbname = psycopg.conninfo.conninfo_to_dict(database.app)["dbname"]
    url = embedded.role_url(database_server, str(superuser), str(dbname))
    with pytest.raises(UnsafeDatabaseRole, match="is a superuser"):
        create_app(app_config(database, DATABASE_URL=url))


def test_start_is_refused_when_the_app_role_owns_the_tables(
    database: embedded.DatabaseUrls,
) -> None:
    with pytest.raises(UnsafeDatabaseRole, match="owns the tables"):
        create_app(app_config(database, DATABASE_URL=database.admin))


def test_start_is_refused_when_the_app_role_has_bypassrls(
    database_server: str, database: embedded.DatabaseUrls
) -> None:
    role = "shopcredit_test_bypass"
    dbname = str(psycopg.conninfo.conninfo_to_dict(database.app)["dbname"])
    with psycopg.connect(database_server, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN BYPASSRLS")
        conn.execute(f"GRANT CONNECT ON DATABASE {dbname} TO {role}")
    try:
        url = embedded.role_url(database_server, role, dbname)
        with pytest.raises(UnsafeDatabaseRole, match="has BYPASSRLS"):
            create_app(app_config(database, DATABASE_URL=url))
    finally:
        with psycopg.connect(database_server, autocommit=True) as conn:
            conn.execute(f"REVOKE CONNECT ON DATABASE {dbname} FROM {role}")
            conn.execute(f"DROP ROLE {role}")


def test_embedded_mode_needs_no_configuration(
    instance: Path, fresh_database: Callable[[], embedded.DatabaseUrls]
) -> None:
    """No DATABASE_URL: PostgreSQL in instance/, both roles, migrations, a kept secret key."""
    config = from_environ({"SHOPCREDIT_INSTANCE_PATH": str(instance)})
    config["PASSWORD_HASH_PROFILE"] = "CHEAPEST"
    app = create_app(config)
    try:
        assert (instance / "pgdata" / "PG_VERSION").exists()
        assert app.config["DATABASE_URL"].startswith("postgresql://shopcredit_web@")
        assert app.config["SECRET_KEY"] == (instance / "secret_key").read_text()
        response = app.test_client().get("/login")
        assert response.status_code == 200
        with psycopg.connect(app.config["DATABASE_ADMIN_URL"]) as conn:
            applied = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
        assert applied >= 1
    finally:
        app.extensions["shopcredit.db"].dispose()
        app.extensions[embedded.EXTENSION_KEY].stop()


def test_start_is_refused_when_the_app_role_cannot_confirm_a_commit_is_on_disk(
    database_server: str, database: embedded.DatabaseUrls
) -> None:
    """The ledger's flushing statement (webapp/ledger.py) taken away from PUBLIC, in this
    database only (pg_proc is per database)."""
    info = psycopg.conninfo.conninfo_to_dict(database_server)
    dbname = str(psycopg.conninfo.conninfo_to_dict(database.app)["dbname"])
    superuser = embedded.role_url(database_server, str(info.get("user") or "postgres"), dbname)
    with psycopg.connect(superuser, autocommit=True) as conn:
        function = conn.execute(f"SELECT p.oid::regprocedure::text {EMITS_TEXT}").fetchone()[0]  # type: ignore[index]
        conn.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
    try:
        with pytest.raises(DatabaseRoleProblem, match="may not execute pg_logical_emit_message"):
            create_app(app_config(database))
    finally:
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute(f"GRANT EXECUTE ON FUNCTION {function} TO PUBLIC")
