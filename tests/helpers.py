"""Helpers shared by the tests: configuration, shops with staff, signing in."""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import psycopg
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from werkzeug.test import TestResponse

from webapp import embedded, ledger, migrate
from webapp.config import from_environ
from webapp.db import get_db
from webapp.settings.operations import create_business
from webapp.staff.operations import create_user

PASSWORD = "correct horse battery"
T = TypeVar("T")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def through_pooler(urls: embedded.DatabaseUrls) -> embedded.DatabaseUrls:
    """The app role's URL through PgBouncer when the run has one (TEST_PGBOUNCER_URL, e.g.
    postgresql://127.0.0.1:6432, in transaction mode in front of TEST_DATABASE_URL's server):
    the suite's app then serves every request through the pooler, as on a hosting platform.
    The owner stays direct, as migrations must (they hold a session-level advisory lock)."""
    pooler = os.environ.get("TEST_PGBOUNCER_URL")
    if not pooler:
        return urls
    app = psycopg.conninfo.conninfo_to_dict(urls.app)
    return embedded.DatabaseUrls(
        app=embedded.role_url(pooler, str(app["user"]), str(app["dbname"])), admin=urls.admin
    )


def app_config(urls: embedded.DatabaseUrls, **overrides: object) -> dict[str, object]:
    config = from_environ(
        {
            "DATABASE_URL": urls.app,
            "DATABASE_ADMIN_URL": urls.admin,
            "SECRET_KEY": "test-secret-key",
            "SHOPCREDIT_COOKIE_SECURE": "false",
            "SHOPCREDIT_PASSWORD_HASH_PROFILE": "CHEAPEST",
        }
    )
    config["TESTING"] = True
    config.update(overrides)
    return config


def dispose(app: Flask) -> None:
    """Close a test app's connections; its token uses noted by GETs are dropped, not written
    at exit into a database the suite has dropped by then."""
    uses = app.extensions.get("shopcredit.token_uses")
    if uses is not None:
        uses.stop()
    app.extensions["shopcredit.db"].dispose()


@dataclass
class Shop:
    business_id: uuid.UUID
    slug: str
    name: str
    owner_email: str
    clerk_email: str
    owner_id: uuid.UUID
    clerk_id: uuid.UUID


def make_shop(app: Flask, slug: str, name: str | None = None) -> Shop:
    with app.app_context(), get_db().admin_transaction() as session:
        business = create_business(session, slug=slug, name=name or slug.title(), timezone="UTC")
        owner = create_user(
            session,
            business_id=business.id,
            email=f"owner@{slug}.test",
            name="Olive Owner",
            role="owner",
            password=PASSWORD,
        )
        clerk = create_user(
            session,
            business_id=business.id,
            email=f"clerk@{slug}.test",
            name="Carl Clerk",
            role="clerk",
            password=PASSWORD,
        )
        return Shop(
            business.id, business.slug, business.name, owner.email, clerk.email, owner.id, clerk.id
        )


CSRF_FIELD = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on `path`, as a browser would have it."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_FIELD.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, business: str, email: str, password: str = PASSWORD) -> TestResponse:
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "business": business, "email": email, "password": password},
    )


def add_customer(
    admin_url: str,
    business_id: uuid.UUID,
    name: str = "Ada Customer",
    *,
    credit_limit: str = "1000.00",
    phone: str = "",
    archived: bool = False,
) -> uuid.UUID:
    with psycopg.connect(admin_url) as conn:
        return conn.execute(
            "INSERT INTO customers (business_id, name, phone, credit_limit, is_archived) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (business_id, name, phone, Decimal(credit_limit), archived),
        ).fetchone()[0]


def add_product(
    admin_url: str,
    business_id: uuid.UUID,
    name: str = "Rice 5 kg",
    *,
    price: str = "10.00",
    stock: int = 100,
    active: bool = True,
    sku: str | None = None,
    barcode: str | None = None,
) -> uuid.UUID:
    with psycopg.connect(admin_url) as conn:
        product_id = conn.execute(
            "INSERT INTO products (business_id, name, price, stock, is_active, sku, barcode) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (business_id, name, Decimal(price), stock, active, sku, barcode),
        ).fetchone()[0]
        record_opening_stock(conn, business_id, product_id, stock)
        return product_id


def record_opening_stock(
    conn: psycopg.Connection, business_id: uuid.UUID, product_id: uuid.UUID, stock: int
) -> None:
    """The stock history's first line, as the pages write it, so the history adds up."""
    if stock:
        conn.execute(
            "INSERT INTO stock_movements (business_id, product_id, change, reason, "
            "resulting_stock, created_by) "
            "SELECT %(b)s, %(p)s, %(stock)s, 'opening', %(stock)s, "
            "coalesce((SELECT id FROM users WHERE business_id = %(b)s ORDER BY role DESC, id "
            "LIMIT 1), gen_random_uuid())",
            {"b": business_id, "p": product_id, "stock": stock},
        )


def fetch(admin_url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Rows read as the owner (every business), to check what really was written."""
    with psycopg.connect(admin_url) as conn:
        return conn.execute(sql, params).fetchall()


def ledger_violations(admin_url: str) -> list[str]:
    from sqlalchemy import create_engine

    from webapp.db import sqlalchemy_url
    from webapp.ledger_check import find_violations

    engine = create_engine(sqlalchemy_url(admin_url), poolclass=NullPool)
    with engine.connect() as conn:
        return [str(v) for v in find_violations(conn)]


@contextmanager
def tenant_session(app: Flask, business_id: uuid.UUID) -> Iterator[Session]:
    """A session as the app role with the business bound, like a request's."""
    with app.app_context(), get_db().sessions() as session:
        session.info["business_id"] = business_id
        yield session


def at_once(count: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run work(0..count-1) on `count` threads released together; results or exceptions."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T | BaseException:
        barrier.wait()
        try:
            return work(index)
        except Exception as error:  # collected and asserted on by the caller
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def sell(
    app: Flask, shop: Shop, customer: uuid.UUID, product: uuid.UUID, quantity: int
) -> uuid.UUID:
    with tenant_session(app, shop.business_id) as session:
        return ledger.purchase(
            session,
            customer_id=customer,
            lines=[ledger.Line(product, quantity)],
            idempotency_key=uuid.uuid4(),
            user_id=shop.clerk_id,
        ).order_id


def pay(
    app: Flask,
    shop: Shop,
    customer: uuid.UUID,
    amount: object,
    *,
    order: uuid.UUID | None = None,
    key: uuid.UUID | None = None,
    method: str = "cash",
) -> ledger.Receipt:
    with tenant_session(app, shop.business_id) as session:
        return ledger.pay(
            session,
            customer_id=customer,
            amount=amount,  # type: ignore[arg-type]
            method=method,
            note="",
            idempotency_key=key or uuid.uuid4(),
            user_id=shop.clerk_id,
            order_id=order,
        )


def redate_sale(
    admin_url: str,
    order_id: uuid.UUID,
    due_in_days: int | None = None,
    *,
    due_on: date | None = None,
    created_days_ago: int | None = None,
) -> None:
    """Move a sale's due date (and when it was made) as if it had been made earlier, and
    rebuild what the ledger maintains from due dates and days, as `rebuild_due_summaries` and
    `rebuild_report_rollups` do after any change made outside the ledger functions."""
    with psycopg.connect(admin_url) as conn:
        conn.execute(
            """UPDATE orders
                  SET due_on = coalesce(%(due_on)s::date, current_date + %(days)s::int),
                      created_at = coalesce(now() - %(ago)s::int * interval '1 day', created_at)
                WHERE id = %(id)s""",
            {"due_on": due_on, "days": due_in_days, "ago": created_days_ago, "id": order_id},
        )
        conn.execute(
            """SELECT rebuild_due_summaries(business_id), rebuild_report_rollups(business_id)
                 FROM orders WHERE id = %s""",
            (order_id,),
        )


def api_auth(app: Flask, slug: str) -> dict[str, str]:
    """The Authorization header of a new API token of the business, made by the CLI."""
    result = app.test_cli_runner().invoke(
        args=["create-api-token", "--business", slug, "--name", "till"]
    )
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}


def blueprint_routes(*blueprints: str) -> list[tuple[str, str]]:
    """(endpoint, method) of every route of these blueprints (webapp.<name>.bp), read from the
    url_map of a bare app, so access tests can be parametrized at collection time and a new
    route is never left out."""
    import importlib

    bare = Flask("routes")
    for name in blueprints:
        bare.register_blueprint(importlib.import_module(f"webapp.{name}").bp)
    return sorted(
        (rule.endpoint, method)
        for rule in bare.url_map.iter_rules()
        if rule.endpoint.partition(".")[0] in blueprints
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    )


def signed_in(app: Flask, slug: str, email: str, password: str = PASSWORD) -> FlaskClient:
    """A new test client (its own cookies: another browser) signed in as this user."""
    client = app.test_client()
    response = login(client, slug, email, password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def field_errors(page: str, field_id: str) -> list[str]:
    """The messages shown next to one form field (the `field` macro's error lines)."""
    import html

    pattern = rf'<small class="error" id="{re.escape(field_id)}-error">(.*?)</small>'
    found = re.findall(pattern, page)
    return [html.unescape(message) for message in found]


# --- a shop as an older release left it, for the tests of a migration -----------------------


def migrated_before(admin_url: str, first_new: str, folder: Path) -> None:
    """Apply only the migrations before `first_new` (e.g. "0007"), copied into `folder`, as a
    shop that ran them has its database: a migration's test fills it with rows of that time,
    then upgrades to see what the migration makes of them."""
    for path in sorted(migrate.MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        if path.name < first_new:
            shutil.copy(path, folder / path.name)
    migrate.upgrade(admin_url, folder)


def old_shop(conn: psycopg.Connection) -> uuid.UUID:
    """A business written straight into the tables, as any release could hold it."""
    return conn.execute(
        "INSERT INTO businesses (slug, name) VALUES ('old-shop', 'Old Shop') RETURNING id"
    ).fetchone()[0]


def old_owner(conn: psycopg.Connection, business: uuid.UUID) -> uuid.UUID:
    return conn.execute(
        "INSERT INTO users (business_id, email, name, password_hash, role) "
        "VALUES (%s, 'o@old.test', 'Owner', 'x', 'owner') RETURNING id",
        (business,),
    ).fetchone()[0]
