"""Row-level security, checked as the app role over real connections."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask

from tests.helpers import Shop
from webapp.embedded import DatabaseUrls
from webapp.models import TENANT_TABLES


@pytest.fixture
def two_shops_with_data(app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop) -> None:
    """A customer, a product and a sale in each of two businesses (written as the owner)."""
    with psycopg.connect(database.admin) as conn:
        for s in (shop, other_shop):
            customer = conn.execute(
                "INSERT INTO customers (business_id, name, credit_limit, balance) "
                "VALUES (%s, %s, 100, 5) RETURNING id",
                (s.business_id, f"Customer of {s.slug}"),
            ).fetchone()[0]
            product = conn.execute(
                "INSERT INTO products (business_id, name, price, stock, barcode) "
                "VALUES (%s, %s, 5, 9, '5012345678900') RETURNING id",
                (s.business_id, f"Product of {s.slug}"),
            ).fetchone()[0]
            order = conn.execute(
                "INSERT INTO orders (business_id, customer_id, total, due_on, created_by, "
                "idempotency_key, balance_after, number) "
                "VALUES (%s, %s, 5, current_date, %s, gen_random_uuid(), 5, 1) RETURNING id",
                (s.business_id, customer, s.clerk_id),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO order_items (business_id, order_id, product_id, quantity, unit_price,"
                " line_no) VALUES (%s, %s, %s, 1, 5, 1)",
                (s.business_id, order, product),
            )
            payment = conn.execute(
                "INSERT INTO payments (business_id, customer_id, amount, created_by, "
                "idempotency_key, balance_after, number) "
                "VALUES (%s, %s, 1, %s, gen_random_uuid(), 4, 1) "
                "RETURNING id",
                (s.business_id, customer, s.clerk_id),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO payment_allocations (business_id, payment_id, order_id, amount) "
                "VALUES (%s, %s, %s, 1)",
                (s.business_id, payment, order),
            )
            conn.execute(
                "INSERT INTO stock_movements (business_id, product_id, change, reason, "
                "resulting_stock, created_by) VALUES (%s, %s, 9, 'opening', 9, %s)",
                (s.business_id, product, s.owner_id),
            )
            conn.execute(
                "INSERT INTO open_dues (business_id, due_on, shard, owed) "
                "VALUES (%s, current_date, 0, 4)",
                (s.business_id,),
            )
            conn.execute(
                "INSERT INTO api_tokens (business_id, name, token_hash, created_by) "
                "VALUES (%s, 'till', %s, %s)",
                (s.business_id, uuid.uuid4().hex, s.owner_id),
            )
            conn.execute(
                "INSERT INTO imports (business_id, kind, row_count, idempotency_key, created_by) "
                "VALUES (%s, 'customers', 1, gen_random_uuid(), %s)",
                (s.business_id, s.owner_id),
            )
            conn.execute(
                "INSERT INTO user_sessions (business_id, user_id, secret_hash, user_version, "
                "expires_at) VALUES (%s, %s, %s, 1, now() + interval '1 hour')",
                (s.business_id, s.clerk_id, uuid.uuid4().hex * 2),
            )
            conn.execute(
                "INSERT INTO recovery_codes (business_id, user_id, code_hash) "
                "VALUES (%s, %s, encode(sha256(gen_random_uuid()::text::bytea), 'hex'))",
                (s.business_id, s.owner_id),
            )
            # The corrections' tables (0015), each with one row as the owner writes them.
            conn.execute(
                "INSERT INTO document_counters (business_id, kind, last_number) "
                "VALUES (%s, 'return', 1)",
                (s.business_id,),
            )
            returned = conn.execute(
                "INSERT INTO returns (business_id, number, order_id, customer_id, is_void, amount,"
                " refund, refund_method, reason, created_by, idempotency_key, request_hash,"
                " balance_after) VALUES (%s, 1, %s, %s, false, 5, 1, 'cash', 'x', %s,"
                " gen_random_uuid(), gen_random_uuid(), 0) RETURNING id",
                (s.business_id, order, customer, s.owner_id),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO return_items (business_id, return_id, product_id, quantity,"
                " unit_price) VALUES (%s, %s, %s, 1, 5)",
                (s.business_id, returned, product),
            )
            conn.execute(
                "INSERT INTO refund_sources (business_id, return_id, payment_id, amount) "
                "VALUES (%s, %s, %s, 1)",
                (s.business_id, returned, payment),
            )
            conn.execute(
                "INSERT INTO payment_reversals (business_id, payment_id, reason, created_by,"
                " idempotency_key, request_hash, balance_after)"
                " VALUES (%s, %s, 'x', %s, gen_random_uuid(), gen_random_uuid(), 0)",
                (s.business_id, payment, s.owner_id),
            )
            conn.execute(
                "INSERT INTO reminders (business_id, customer_id, channel, message, created_by)"
                " VALUES (%s, %s, 'sms', 'Hello', %s)",
                (s.business_id, customer, s.clerk_id),
            )
            conn.execute(
                "INSERT INTO drawer_counts (business_id, day, user_id, float_amount, expected,"
                " counted, created_by, idempotency_key, request_hash) VALUES (%s, current_date,"
                " %s, 0, 10, 10, %s, gen_random_uuid(), gen_random_uuid())",
                (s.business_id, s.clerk_id, s.clerk_id),
            )
            # The reports' rollups (0022), one row each.
            for rollup in (
                "INSERT INTO sales_by_day (business_id, day, product_id, sold_quantity,"
                " sold_amount) VALUES (%(b)s, current_date, %(p)s, 1, 5)",
                "INSERT INTO sales_by_month (business_id, month, product_id, sold_quantity,"
                " sold_amount) VALUES (%(b)s, date_trunc('month', now())::date, %(p)s, 1, 5)",
                "INSERT INTO sales_totals_by_day (business_id, day, sales, sold_amount)"
                " VALUES (%(b)s, current_date, 1, 5)",
                "INSERT INTO owed_by_day (business_id, day, due_on, change)"
                " VALUES (%(b)s, current_date, current_date, 4)",
                "INSERT INTO collections_by_day (business_id, day, method, received, payments)"
                " VALUES (%(b)s, current_date, 'cash', 1, 1)",
            ):
                conn.execute(rollup, {"b": s.business_id, "p": product})
            conn.execute(
                "INSERT INTO statement_links (business_id, customer_id, token_hash, date_from,"
                " created_by, expires_at) VALUES (%s, %s, encode(sha256(gen_random_uuid()::text"
                "::bytea), 'hex'), current_date, %s, now() + interval '30 days')",
                (s.business_id, customer, s.clerk_id),
            )


@pytest.fixture
def app_conn(database: DatabaseUrls) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database.app) as conn:
        yield conn


def _bind(conn: psycopg.Connection, business_id: uuid.UUID | None) -> None:
    conn.execute("SELECT set_config('app.business_id', %s, true)", (str(business_id or ""),))


ALL_TABLES = ("businesses", *TENANT_TABLES)


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ALL_TABLES}


@pytest.mark.usefixtures("two_shops_with_data")
def test_no_tenant_bound_sees_no_rows_in_any_table(app_conn: psycopg.Connection) -> None:
    assert _counts(app_conn) == dict.fromkeys(ALL_TABLES, 0)
    _bind(app_conn, None)  # bound to the empty string, as a pooled connection after commit
    assert _counts(app_conn) == dict.fromkeys(ALL_TABLES, 0)


@pytest.mark.usefixtures("two_shops_with_data")
def test_a_bound_tenant_sees_only_its_own_rows(
    app_conn: psycopg.Connection, shop: Shop, other_shop: Shop
) -> None:
    _bind(app_conn, shop.business_id)
    counts = _counts(app_conn)
    assert counts == {
        "businesses": 1,
        "users": 2,
        "user_sessions": 1,
        "customers": 1,
        "products": 1,
        "product_codes": 1,
        "api_tokens": 1,
        "orders": 1,
        "order_items": 1,
        "payments": 1,
        "payment_allocations": 1,
        "imports": 1,
        "stock_movements": 1,
        "open_dues": 1,
        "recovery_codes": 1,
        "document_counters": 1,
        "returns": 1,
        "return_items": 1,
        "refund_sources": 1,
        "payment_reversals": 1,
        "activity_log": 2,  # adding the owner and the clerk (make_shop) wrote a line each
        "drawer_counts": 1,
        "reminders": 1,
        "sales_by_day": 1,
        "sales_by_month": 1,
        "sales_totals_by_day": 1,
        "owed_by_day": 1,
        "collections_by_day": 1,
        "statement_links": 1,
    }
    for table in TENANT_TABLES:
        owners = app_conn.execute(f"SELECT DISTINCT business_id FROM {table}").fetchall()
        assert owners == [(shop.business_id,)], table
    assert app_conn.execute("SELECT slug FROM businesses").fetchall() == [(shop.slug,)]


@pytest.mark.usefixtures("two_shops_with_data")
def test_the_binding_ends_with_the_transaction(app_conn: psycopg.Connection, shop: Shop) -> None:
    _bind(app_conn, shop.business_id)
    assert _counts(app_conn)["customers"] == 1
    app_conn.commit()
    assert _counts(app_conn)["customers"] == 0


@pytest.mark.usefixtures("two_shops_with_data")
def test_writing_another_business_rows_is_refused(
    app_conn: psycopg.Connection, shop: Shop, other_shop: Shop
) -> None:
    _bind(app_conn, shop.business_id)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        app_conn.execute(
            "INSERT INTO customers (business_id, name) VALUES (%s, 'Sneaky')",
            (other_shop.business_id,),
        )
    app_conn.rollback()

    _bind(app_conn, shop.business_id)
    # B's rows are invisible, so updates and reads of them touch nothing...
    updated = app_conn.execute(
        "UPDATE customers SET credit_limit = 999999 WHERE business_id = %s",
        (other_shop.business_id,),
    )
    assert updated.rowcount == 0
    # ...and moving one of A's rows into B is refused outright: the app role may not write
    # business_id at all (column grants, 0011), and the policy's WITH CHECK stands behind that.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        app_conn.execute("UPDATE customers SET business_id = %s", (other_shop.business_id,))
    app_conn.rollback()

    with psycopg.connect(app_conn.info.dsn) as check:
        _bind(check, other_shop.business_id)
        assert check.execute("SELECT credit_limit FROM customers").fetchall() == [(100,)]


@pytest.mark.usefixtures("two_shops_with_data")
def test_a_composite_foreign_key_refuses_an_order_pointing_into_another_business(
    database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    # As the owner, who is not held back by row-level security: the keys alone must refuse it.
    with psycopg.connect(database.admin) as conn:
        foreign_customer = conn.execute(
            "SELECT id FROM customers WHERE business_id = %s", (other_shop.business_id,)
        ).fetchone()[0]
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO orders (business_id, customer_id, total, due_on, created_by, "
                "idempotency_key, balance_after, number) "
                "VALUES (%s, %s, 5, current_date, %s, gen_random_uuid(), 5, 2)",
                (shop.business_id, foreign_customer, shop.clerk_id),
            )


def test_the_app_role_cannot_change_the_schema_or_read_migrations(
    app_conn: psycopg.Connection,
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("CREATE TABLE sneaky (id int)")
    app_conn.rollback()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("SELECT * FROM schema_migrations")
    app_conn.rollback()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("ALTER TABLE customers DISABLE ROW LEVEL SECURITY")
    app_conn.rollback()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("DELETE FROM orders")
    app_conn.rollback()


def test_the_app_role_is_not_privileged(app_conn: psycopg.Connection) -> None:
    row = app_conn.execute(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
        "WHERE rolname = current_user"
    ).fetchone()
    assert row == (False, False, False, False)


@pytest.mark.usefixtures("two_shops_with_data")
def test_login_lookup_answers_only_an_exact_shop_and_email(
    app_conn: psycopg.Connection, shop: Shop, other_shop: Shop
) -> None:
    def lookup(slug: str, email: str) -> list[tuple[object, ...]]:
        return app_conn.execute(
            "SELECT business_id, user_id FROM login_lookup(%s, %s)", (slug, email)
        ).fetchall()

    assert lookup(shop.slug, shop.owner_email) == [(shop.business_id, shop.owner_id)]
    assert lookup(f" {shop.slug.upper()} ", shop.owner_email.upper()) == [
        (shop.business_id, shop.owner_id)
    ]
    assert lookup(other_shop.slug, shop.owner_email) == []  # right email, wrong shop
    assert lookup(shop.slug, "%") == []
    assert lookup("%", "%") == []
