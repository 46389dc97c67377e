"""flask --app wsgi <command>: migrations, businesses, staff, demo data and the dev server.

Admin commands connect as the table owner (DATABASE_ADMIN_URL), never as the app role, and need
nothing else; `serve` needs what gunicorn needs. With no database setting at all they work on
the embedded database. Whatever goes wrong ends the command in one sentence, never a traceback.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
import psycopg
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask.globals import app_ctx
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from webapp import check_ready_to_serve, migrate
from webapp.auth import two_factor
from webapp.auth.operations import issue_one_time_password
from webapp.config import ConfigError, require
from webapp.db import DatabaseRoleProblem, get_db
from webapp.demo import DemoLogin, demo_logins, load_demo
from webapp.ledger_check import find_violations
from webapp.models import Business, User
from webapp.refusal import Refused
from webapp.settings.operations import business_by_slug, create_business, issue_token
from webapp.staff.operations import create_user

INSUFFICIENT_PRIVILEGE = "42501"


def database_problem(error: psycopg.Error) -> str:
    """One sentence for what the database said, without the SQL or its values."""
    lines = str(error).strip().splitlines()
    said = (error.diag.message_primary or (lines[0] if lines else "")).rstrip(".")
    said = said or type(error).__name__
    if error.sqlstate == INSUFFICIENT_PRIVILEGE:
        return (
            f"The database refused: {said}. Admin commands run as the role that owns "
            "ShopCredit's tables (DATABASE_ADMIN_URL); a database restored by a superuser must "
            "be restored again as that owner (README, Backup and restore)."
        )
    if error.sqlstate is None and isinstance(error, psycopg.OperationalError):
        return f"Could not reach the database: {said}."
    if error.sqlstate is None:  # a URL that libpq cannot read
        return f"The database URL cannot be used: {said}."
    return f"The database refused the command: {said} (SQLSTATE {error.sqlstate})."


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Rule violations, missing settings and what the database refuses end the command with
    one sentence, not a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (Refused, migrate.MigrationError, ConfigError, DatabaseRoleProblem) as error:
            raise click.ClickException(str(error)) from error
        except DBAPIError as error:
            if not isinstance(error.orig, psycopg.Error):
                raise
            raise click.ClickException(database_problem(error.orig)) from error
        except psycopg.Error as error:
            raise click.ClickException(database_problem(error)) from error

    return wrapper


def _admin_url() -> str:
    return require({"DATABASE_ADMIN_URL": get_db().admin_url}, "DATABASE_ADMIN_URL")


def _person(session: Session, slug: str, email: str) -> tuple[Business, User]:
    business = business_by_slug(session, slug)
    user = session.scalar(
        select(User).where(
            User.business_id == business.id, func.lower(User.email) == email.strip().lower()
        )
    )
    if user is None:
        raise Refused(f"{business.name} has no one with the email {email!r}.")
    return business, user


@click.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command(
    "upgrade",
    help="Apply pending migrations from sql/migrations, then the changed files of sql/functions.",
)
@with_appcontext
@friendly_errors
def db_upgrade() -> None:
    applied = migrate.upgrade(_admin_url())
    migrations = [name for name in applied if not name.startswith(migrate.FUNCTIONS_PREFIX)]
    functions = [
        name.removeprefix(migrate.FUNCTIONS_PREFIX)
        for name in applied
        if name.startswith(migrate.FUNCTIONS_PREFIX)
    ]
    if migrations:
        click.echo(f"Applied migrations {', '.join(migrations)}.")
    if functions:
        click.echo(f"Applied new or changed functions {', '.join(functions)}.")
    if not applied:
        click.echo("The schema is up to date.")


@click.command("create-business", help="Create a business (a shop) that staff can sign in to.")
@click.option("--slug", required=True, help="Shop code staff type at sign-in, e.g. corner-grocer.")
@click.option("--name", required=True)
@click.option("--currency", default="USD", show_default=True)
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--credit-days", default=30, show_default=True, type=int)
@click.option(
    "--locale",
    default=None,
    help="How money and dates are written, e.g. en_KE, sw_KE, fr_FR (default: SHOPCREDIT_LOCALE).",
)
@with_appcontext
@friendly_errors
def create_business_command(
    slug: str, name: str, currency: str, timezone: str, credit_days: int, locale: str | None
) -> None:
    with get_db().admin_transaction() as session:
        business = create_business(
            session,
            slug=slug,
            name=name,
            currency=currency,
            timezone=timezone,
            credit_days=credit_days,
            locale=locale or current_app.config["LOCALE"],
        )
        click.echo(f"Created {business.name} with shop code {business.slug}.")


@click.command("create-user", help="Add a staff member to a business.")
@click.option("--business", "slug", required=True, help="The business's shop code.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["owner", "clerk"]), required=True)
@click.option("--password", help="Prompted for (hidden) when not given.")
@with_appcontext
@friendly_errors
def create_user_command(slug: str, email: str, name: str, role: str, password: str | None) -> None:
    with get_db().admin_transaction() as session:
        business = business_by_slug(session, slug)
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        user = create_user(
            session,
            business_id=business.id,
            email=email,
            name=name,
            role=role,
            password=password or "",
        )
        click.echo(f"Added {user.name} <{user.email}> to {business.name} as {user.role}.")


@click.command("create-api-token", help="Make an API token for a business; printed once.")
@click.option("--business", "slug", required=True, help="The business's shop code.")
@click.option("--name", required=True, help="What the token is for, e.g. 'front till'.")
@with_appcontext
@friendly_errors
def create_api_token_command(slug: str, name: str) -> None:
    with get_db().admin_transaction() as session:
        business = business_by_slug(session, slug)
        owner = session.scalar(
            select(User)
            .where(User.business_id == business.id, User.role == "owner", User.is_active)
            .order_by(User.created_at)
        )
        if owner is None:
            raise Refused(f"{business.name} has no active owner to issue a token in the name of.")
        _, plain = issue_token(session, business_id=business.id, name=name, created_by=owner.id)
        click.echo(f"API token {name!r} for {business.name} (keep it secret; it is shown once):")
        click.echo(plain)


@click.command(
    "reset-two-factor",
    help="Turn off a person's second factor (they lost their phone and recovery codes).",
)
@click.option("--business", "slug", required=True, help="The business's shop code.")
@click.option("--email", required=True)
@with_appcontext
@friendly_errors
def reset_two_factor_command(slug: str, email: str) -> None:
    with get_db().admin_transaction() as session:
        business, user = _person(session, slug, email)
        two_factor.reset(session, user)
        click.echo(
            f"The second factor of {user.name} <{user.email}> at {business.name} is off; "
            "they sign in with their password and may set it up again."
        )


@click.command(
    "reset-password",
    help="Give a locked-out person (a forgotten password) a one-time password, printed once; "
    "they must change it at sign-in before anything else.",
)
@click.option("--business", "slug", required=True, help="The business's shop code.")
@click.option("--email", required=True)
@with_appcontext
@friendly_errors
def reset_password_command(slug: str, email: str) -> None:
    with get_db().admin_transaction() as session:
        business, user = _person(session, slug, email)
        password = issue_one_time_password(session, user)
    # Printed once it is committed: never a password that does not work.
    click.echo(
        f"One-time password for {user.name} <{user.email}> at {business.name} (shop code "
        f"{business.slug}); they choose their own at sign-in, and were signed out everywhere:"
    )
    click.echo(password)


@click.command("check-ledger", help="Check every ledger invariant in every business.")
@with_appcontext
@friendly_errors
def check_ledger_command() -> None:
    with psycopg.connect(_admin_url()) as conn:
        migrate.check_ownership(conn)
    with get_db().admin_engine.connect() as conn:
        violations = find_violations(conn)
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM businesses), (SELECT count(*) FROM customers),"
                " (SELECT count(*) FROM orders), (SELECT count(*) FROM payments)"
            )
        ).one()
    for violation in violations:
        click.echo(str(violation), err=True)
    if violations:
        raise click.exceptions.Exit(1)
    click.echo(
        f"Ledger consistent: {counts[0]} businesses, {counts[1]} customers, "
        f"{counts[2]} sales, {counts[3]} payments."
    )


PUBLIC_PASSWORDS = (
    "the demo's logins and passwords are public (they are in the README), so anyone could sign "
    "in to its shops"
)


@click.command("demo", help="Load the demo businesses (idempotent) and print their logins.")
@click.option(
    "--yes-really",
    is_flag=True,
    help="Load them into a database other than the embedded one (its passwords are public).",
)
@with_appcontext
@friendly_errors
def demo_command(yes_really: bool) -> None:
    if not current_app.config.get("EMBEDDED_DATABASE"):
        if not yes_really:
            raise click.ClickException(
                f"This is not the embedded development database, and {PUBLIC_PASSWORDS}: "
                "nothing was loaded (add --yes-really to load them here all the same)."
            )
        click.echo(f"Loading the demo into {_where()}: {PUBLIC_PASSWORDS}.", err=True)
    with get_db().admin_transaction() as session:
        print_demo_logins(load_demo(session))


def _where() -> str:
    """The database the admin URL names (host and name, never a password)."""
    info = psycopg.conninfo.conninfo_to_dict(_admin_url())
    return f"the database {info.get('dbname', '?')} on {info.get('host') or 'localhost'}"


def print_demo_logins(logins: list[DemoLogin]) -> None:
    if not logins:
        return
    click.echo("Demo logins (shop code / email / password):")
    for login in logins:
        click.echo(f"  {login.shop:<14} {login.email:<18} {login.password:<11} ({login.role})")


@click.command("serve", help="Development server: demo data on first run, then serve.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
@friendly_errors
def serve_command(host: str, port: int) -> None:
    app = app_ctx.app  # the application itself, not the proxy
    check_ready_to_serve(app)
    if app.config.get("EMBEDDED_DATABASE"):  # demo data only ever goes into the embedded one
        with get_db().admin_transaction() as session:
            if session.scalar(select(func.count()).select_from(Business)) == 0:
                click.echo("First run: loading demo data.")
                load_demo(session)
            print_demo_logins(demo_logins(session))
    # One process, no reloader: it owns the embedded database and stops it when it exits, and
    # a plain `kill` (SIGTERM) exits as cleanly as Ctrl-C does. Ctrl-C stops it even when it
    # was started with SIGINT ignored (a background job of a script), which Python keeps.
    server = make_server(host, port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    click.echo(f"ShopCredit is on http://{host}:{port}/  (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopping.")
    finally:
        server.server_close()


def register_commands(app: Flask) -> None:
    for command in (
        db_group,
        create_business_command,
        create_user_command,
        create_api_token_command,
        reset_two_factor_command,
        reset_password_command,
        check_ledger_command,
        demo_command,
        serve_command,
    ):
        app.cli.add_command(command)
