"""The admin commands: businesses, staff, demo data; rule violations end in one sentence."""

from __future__ import annotations

import psycopg
import pytest
from flask import Flask

from tests.helpers import ledger_violations
from webapp.demo import CLERK_PASSWORD, OWNER_PASSWORD
from webapp.embedded import DatabaseUrls


def _invoke(app: Flask, *args: str, input: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    return result.exit_code, result.output


def _count(database: DatabaseUrls, sql: str, *params: object) -> int:
    with psycopg.connect(database.admin) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_create_business_then_users(app: Flask, database: DatabaseUrls) -> None:
    code, out = _invoke(
        app,
        "create-business",
        "--slug",
        "Corner-Shop",
        "--name",
        "Corner Shop",
        "--currency",
        "kes",
        "--timezone",
        "Africa/Nairobi",
        "--credit-days",
        "14",
    )
    assert code == 0, out
    assert "shop code corner-shop" in out
    with psycopg.connect(database.admin) as conn:
        row = conn.execute(
            "SELECT name, currency, timezone, credit_days FROM businesses WHERE slug = %s",
            ("corner-shop",),
        ).fetchone()
    assert row == ("Corner Shop", "KES", "Africa/Nairobi", 14)

    code, out = _invoke(
        app,
        "create-user",
        "--business",
        "corner-shop",
        "--email",
        "Ann@Shop.test",
        "--name",
        "Ann",
        "--role",
        "owner",
        "--password",
        "long enough",
    )
    assert code == 0, out
    # Prompted for, hidden, and asked twice, when not given.
    code, out = _invoke(
        app,
        "create-user",
        "--business",
        "corner-shop",
        "--email",
        "bob@shop.test",
        "--name",
        "Bob",
        "--role",
        "clerk",
        input="another secret\nanother secret\n",
    )
    assert code == 0, out
    assert _count(database, "SELECT count(*) FROM users") == 2
    hashes = _count(database, "SELECT count(*) FROM users WHERE password_hash LIKE '$argon2id$%%'")
    assert hashes == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slug", "-bad-", "--name", "X"], "A shop code is 1 to 40 lowercase letters"),
        (["--slug", "ok", "--name", "X", "--currency", "XYZ1"], "is not a currency code"),
        (["--slug", "ok", "--name", "X", "--timezone", "Mars/Base"], "is not a time zone"),
        (["--slug", "ok", "--name", "X", "--credit-days", "400"], "between 0 and 365"),
        (["--slug", "ok", "--name", "   "], "A business name is 1 to 120 characters"),
    ],
)
def test_create_business_refuses_bad_input_plainly(
    app: Flask, database: DatabaseUrls, args: list[str], message: str
) -> None:
    code, out = _invoke(app, "create-business", *args)
    assert code != 0
    assert message in out
    assert "Traceback" not in out
    assert _count(database, "SELECT count(*) FROM businesses") == 0


def test_create_user_refuses_bad_input_plainly(app: Flask, database: DatabaseUrls) -> None:
    assert _invoke(app, "create-business", "--slug", "shop", "--name", "Shop")[0] == 0
    base = ["create-user", "--business", "shop", "--name", "Ann", "--role", "clerk"]
    cases = [
        (["--email", "ann@shop.test", "--password", "short"], "at least 8 characters"),
        (["--email", "not-an-email", "--password", "long enough"], "is not an email address"),
        (
            ["--email", "ann@shop.test", "--business", "nope", "--password", "long enough"],
            "no business with the shop code 'nope'",
        ),
    ]
    for extra, message in cases:
        code, out = _invoke(app, *base, *extra)
        assert code != 0 and message in out and "Traceback" not in out, out
    assert _invoke(app, *base, "--email", "ann@shop.test", "--password", "long enough")[0] == 0
    code, out = _invoke(app, *base, "--email", "ANN@shop.test", "--password", "long enough")
    assert code != 0 and "already has an account" in out
    assert _count(database, "SELECT count(*) FROM users") == 1


def test_a_duplicate_shop_code_is_refused(app: Flask, database: DatabaseUrls) -> None:
    assert _invoke(app, "create-business", "--slug", "shop", "--name", "Shop")[0] == 0
    code, out = _invoke(app, "create-business", "--slug", "shop", "--name", "Other")
    assert code != 0 and "is taken" in out
    assert _count(database, "SELECT count(*) FROM businesses") == 1


def test_demo_is_idempotent_and_prints_the_logins(app: Flask, database: DatabaseUrls) -> None:
    for _ in range(2):
        code, out = _invoke(app, "demo", "--yes-really")
        assert code == 0, out
        for shop in ("corner-grocer", "hardware-hub"):
            lines = [line.split() for line in out.splitlines()]
            assert [shop, "owner@example.com", OWNER_PASSWORD, "(owner)"] in lines
            assert [shop, "clerk@example.com", CLERK_PASSWORD, "(clerk)"] in lines
    assert _count(database, "SELECT count(*) FROM businesses") == 2
    assert _count(database, "SELECT count(*) FROM users") == 4
    with psycopg.connect(database.admin) as conn:
        per_shop = conn.execute(
            "SELECT b.slug, (SELECT count(*) FROM customers c WHERE c.business_id = b.id),"
            " (SELECT count(*) FROM products p WHERE p.business_id = b.id),"
            " (SELECT count(DISTINCT credit_limit) FROM customers c WHERE c.business_id = b.id)"
            " FROM businesses b ORDER BY b.slug"
        ).fetchall()
    for slug, customers, products, limits in per_shop:
        assert customers >= 30, slug
        assert products >= 40, slug
        assert limits >= 5, slug  # varied credit limits

    # About 120 days of sales history, made by the real sale function, then dated back.
    with psycopg.connect(database.admin) as conn:
        history = conn.execute(
            "SELECT b.slug, count(o.id), current_date - min(o.created_at)::date,"
            " count(*) FILTER (WHERE o.due_on <> (o.created_at AT TIME ZONE b.timezone)::date"
            "                                    + b.credit_days)"
            " FROM businesses b JOIN orders o ON o.business_id = b.id GROUP BY b.slug"
        ).fetchall()
        over_limit = conn.execute(
            "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id"
            " WHERE o.balance_after > c.credit_limit"
        ).fetchone()[0]
    assert len(history) == 2
    for slug, sales, days, wrong_due_dates in history:
        assert sales >= 100, slug
        assert 110 <= days <= 121, slug
        assert wrong_due_dates == 0, slug
    assert over_limit == 0

    # Payments too: some customers paid up, some partly, some never; some long overdue.
    with psycopg.connect(database.admin) as conn:
        kinds = conn.execute(
            """SELECT count(*) FILTER (WHERE paid_sum = 0 AND sales > 0),
                      count(*) FILTER (WHERE paid_sum > 0 AND balance > 0),
                      count(*) FILTER (WHERE sales > 0 AND balance = 0),
                      (SELECT count(DISTINCT customer_id) FROM orders
                        WHERE paid < total AND due_on < current_date - 30)
                 FROM (SELECT c.balance,
                              (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) AS sales,
                              (SELECT coalesce(sum(amount), 0) FROM payments p
                                WHERE p.customer_id = c.id) AS paid_sum
                         FROM customers c) per_customer"""
        ).fetchone()
    never_paid, partly_paid, paid_up, long_overdue = kinds
    assert never_paid > 0 and partly_paid > 0 and paid_up > 0 and long_overdue > 0, kinds
    assert ledger_violations(database.admin) == []


def test_demo_logins_work(app: Flask) -> None:
    from tests.helpers import login

    assert _invoke(app, "demo", "--yes-really")[0] == 0
    client = app.test_client()
    response = login(client, "hardware-hub", "owner@example.com", OWNER_PASSWORD)
    assert response.status_code == 302
    assert "Hardware Hub" in client.get("/").get_data(as_text=True)


def test_check_ledger_reports_a_broken_invariant(app: Flask, database: DatabaseUrls) -> None:
    assert _invoke(app, "demo", "--yes-really")[0] == 0
    code, out = _invoke(app, "check-ledger")
    assert code == 0 and "Ledger consistent: 2 businesses" in out
    with psycopg.connect(database.admin) as conn:
        customer = conn.execute(
            "UPDATE customers SET balance = balance + 1 WHERE id = "
            "(SELECT customer_id FROM orders LIMIT 1) RETURNING id"
        ).fetchone()[0]
    code, out = _invoke(app, "check-ledger")
    assert code == 1
    assert "customer balance differs from sales, returns, payments and refunds: business" in out
    assert str(customer) in out


def test_db_upgrade_reports_up_to_date(app: Flask) -> None:
    code, out = _invoke(app, "db", "upgrade")
    assert code == 0
    assert "up to date" in out
