"""flask --app wsgi <command>: migrations, businesses, staff, demo data and the dev server.

Admin commands connect as the table owner (DATABASE_ADMIN_URL), never as the app role.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext
from flask.globals import app_ctx
from sqlalchemy import func, select, text
from werkzeug.serving import make_server

from webapp import migrate
from webapp.auth import two_factor
from webapp.db import get_db
from webapp.demo import DemoLogin, demo_logins, load_demo
from webapp.ledger_check import find_violations
from webapp.models import Business, User
from webapp.refusal import Refused
from webapp.settings.operations import business_by_slug, create_business, issue_token
from webapp.staff.operations import create_user


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Rule violations end the command with their own sentence, not a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (Refused, migrate.MigrationError) as error:
            raise click.ClickException(str(error)) from error

    return wrapper


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
    applied = migrate.upgrade(get_db().admin_url or "")
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
@with_appcontext
@friendly_errors
def create_business_command(
    slug: str, name: str, currency: str, timezone: str, credit_days: int
) -> None:
    with get_db().admin_transaction() as session:
        business = create_business(
            session,
            slug=slug,
            name=name,
            currency=currency,
            timezone=timezone,
            credit_days=credit_days,
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
        business = business_by_slug(session, slug)
        user = session.scalar(
            select(User).where(
                User.business_id == business.id, func.lower(User.email) == email.strip().lower()
            )
        )
        if user is None:
            raise Refused(f"{business.name} has no one with the email {email!r}.")
        two_factor.reset(session, user)
        click.echo(
            f"The second factor of {user.name} <{user.email}> at {business.name} is off; "
            "they sign in with their password and may set it up again."
        )


@click.command("check-ledger", help="Check every ledger invariant in every business.")
@with_appcontext
def check_ledger_command() -> None:
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


@click.command("demo", help="Load the demo businesses (idempotent) and print their logins.")
@with_appcontext
def demo_command() -> None:
    with get_db().admin_transaction() as session:
        print_demo_logins(load_demo(session))


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
def serve_command(host: str, port: int) -> None:
    app = app_ctx.app  # the application itself, not the proxy
    with get_db().admin_transaction() as session:
        if session.scalar(select(func.count()).select_from(Business)) == 0:
            click.echo("First run: loading demo data.")
            load_demo(session)
        print_demo_logins(demo_logins(session))
    # One process, no reloader: it owns the embedded database and stops it when it exits, and
    # a plain `kill` (SIGTERM) exits as cleanly as Ctrl-C does.
    server = make_server(host, port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
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
        check_ledger_command,
        demo_command,
        serve_command,
    ):
        app.cli.add_command(command)
