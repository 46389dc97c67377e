"""Issue 15, items 6, 7, 8, 9 and 13: what an outside security test found, each closed.

Deeply nested JSON, the database's walls behind row-level security (no temporary tables, no
CREATE, column-level UPDATE, fixed search paths, a narrow login_lookup), odd Unicode in names
and digits, a CSV preview confirmed twice or late, and the smaller ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    api_auth,
    csrf_token,
    fetch,
    pay,
    sell,
)
from tests.test_import import confirm, confirm_form, preview_and_import, upload
from webapp.embedded import DatabaseUrls
from webapp.imports import routes as import_routes
from webapp.inputs import Problems, limited, money_field, parse_amount, whole_number
from webapp.overdue.reminders import reminder_text

JSON = {"Content-Type": "application/json"}


def _api(app: Flask, shop: Shop, path: str, body: str) -> tuple[int, object]:
    response = app.test_client().post(path, data=body, headers={**api_auth(app, shop.slug), **JSON})
    return response.status_code, response.get_json()


# 6. Deeply nested JSON.


@pytest.mark.parametrize("path", ["/api/purchase", "/api/payments", "/api/customers"])
def test_deeply_nested_json_is_a_malformed_request(app: Flask, shop: Shop, path: str) -> None:
    status, body = _api(app, shop, path, "[" * 50_000)
    assert status == 400
    assert isinstance(body, dict) and body["error"] == "invalid request"
    status, body = _api(app, shop, path, '{"customer_id": ' + "[" * 50_000 + "]" * 50_000 + "}")
    assert status == 400
    assert isinstance(body, dict) and body["error"] == "invalid request"


# 7. Defence in depth in the database.


@pytest.fixture
def as_app(database: DatabaseUrls, shop: Shop) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database.app) as conn:
        conn.execute("SELECT set_config('app.business_id', %s, false)", (str(shop.business_id),))
        yield conn


def _refused(conn: psycopg.Connection, sql: str, *params: object) -> bool:
    try:
        conn.execute(sql, params)
    except psycopg.errors.InsufficientPrivilege:
        conn.rollback()
        return True
    conn.rollback()
    return False


def test_the_app_role_cannot_make_a_temporary_table_or_anything_in_a_schema(
    as_app: psycopg.Connection,
) -> None:
    assert _refused(as_app, "CREATE TEMPORARY TABLE customers (id uuid)")
    assert _refused(as_app, "CREATE TABLE public.customers_copy (id uuid)")
    assert _refused(as_app, "CREATE FUNCTION public.now() RETURNS int LANGUAGE sql RETURN 1")
    schemas = as_app.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
        "AND nspname <> 'information_schema' AND has_schema_privilege(oid, 'CREATE')"
    ).fetchall()
    assert schemas == []
    assert as_app.execute(
        "SELECT has_database_privilege(current_database(), 'TEMPORARY')"
    ).fetchone() == (False,)


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ("UPDATE customers SET balance = 0", "a balance"),
        ("UPDATE customers SET oldest_open_due_on = NULL", "the overdue summary"),
        ("UPDATE orders SET paid = total", "a sale's paid amount"),
        ("UPDATE products SET stock = 1000000", "stock"),
        ("UPDATE open_dues SET owed = 0", "what is owed per due date"),
        ("UPDATE payments SET amount = 1", "a payment"),
        ("UPDATE users SET email = 'x@y.z'", "a sign-in email"),
        ("UPDATE businesses SET slug = 'taken'", "a shop code"),
        ("UPDATE customers SET business_id = business_id", "a row's business"),
        (
            "INSERT INTO payments (business_id, customer_id, amount, created_by, idempotency_key,"
            " balance_after) SELECT business_id, id, 1, id, gen_random_uuid(), 0 FROM customers",
            "a payment written around the ledger",
        ),
        (
            "INSERT INTO orders (business_id, customer_id, total, due_on, created_by,"
            " idempotency_key, balance_after) SELECT business_id, id, 1, current_date, id,"
            " gen_random_uuid(), 0 FROM customers",
            "a sale written around the ledger",
        ),
    ],
)
def test_the_app_role_cannot_write_what_the_ledger_keeps(
    app: Flask,
    shop: Shop,
    database: DatabaseUrls,
    as_app: psycopg.Connection,
    statement: str,
    what: str,
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    sell(app, shop, customer, product, 2)
    assert _refused(as_app, statement), what
    assert fetch(database.admin, "SELECT balance FROM customers") == [(Decimal("20.00"),)]


def test_the_ledger_still_writes_through_its_functions(
    app: Flask, shop: Shop, database: DatabaseUrls, owner_client: FlaskClient
) -> None:
    """As the app role: a sale, a payment, a stock change and an opening balance, then every
    invariant holds (the full ledger suites run the same way)."""
    from tests.helpers import ledger_violations

    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, stock=10)
    sell(app, shop, customer, product, 3)
    pay(app, shop, customer, Decimal("5.00"))
    response = owner_client.post(
        f"/products/{product}/stock",
        data={
            "csrf_token": csrf_token(owner_client, f"/products/{product}/stock"),
            "idempotency_key": str(uuid.uuid4()),
            "reason": "delivery",
            "quantity": "4",
            "note": "",
        },
    )
    assert response.status_code in (200, 302, 303)
    preview_and_import(owner_client, "customers", "name,opening_balance,credit_limit\nBo,7,50\n")
    assert fetch(database.admin, "SELECT stock FROM products") == [(11,)]
    assert sorted(fetch(database.admin, "SELECT name, balance FROM customers")) == [
        ("Ada Customer", Decimal("25.00")),
        ("Bo", Decimal("7.00")),
    ]
    assert ledger_violations(database.admin) == []


def test_every_function_resolves_its_names_without_the_callers_search_path(
    database: DatabaseUrls,
) -> None:
    """Each function of ours has a fixed search_path, or a SQL-standard body (its names were
    resolved when it was made); extensions' functions are theirs."""
    loose = fetch(
        database.admin,
        """SELECT p.oid::regprocedure::text FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace
              AND p.prosqlbody IS NULL
              AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search\\_path=%%')
              AND NOT EXISTS (SELECT FROM pg_depend d
                               WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                 AND d.deptype = 'e')""",
    )
    assert loose == []
    definers = fetch(
        database.admin,
        """SELECT p.proname FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef ORDER BY 1""",
    )
    assert {"process_purchase", "record_payment", "adjust_stock", "record_opening_balances"} <= {
        name for (name,) in definers
    }


def test_login_lookup_says_nothing_about_an_inactive_user(
    database: DatabaseUrls, shop: Shop
) -> None:
    fetch(
        database.admin,
        "UPDATE users SET is_active = false WHERE id = %s RETURNING id",
        shop.clerk_id,
    )
    with psycopg.connect(database.app) as conn:
        found = conn.execute(
            "SELECT * FROM login_lookup(%s, %s)", (shop.slug, f"clerk@{shop.slug}.test")
        ).fetchall()
        owner = conn.execute(
            "SELECT * FROM login_lookup(%s, %s)", (shop.slug, shop.owner_email)
        ).fetchall()
    assert found == []
    assert len(owner) == 1


# 8. Odd Unicode.


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("\u200b\u200b", "only invisible characters"),
        ("\u3164", "only invisible characters"),
        ("Ann\u202egnp.exe", "U+202E"),
        ("Ann\u2066x\u2069", "U+2066"),
        ("Z" + "\u0301" * 12, "accent marks"),
        ("Ann\nPay to 123", "line break"),
    ],
)
def test_odd_unicode_in_a_name_is_refused_plainly(typed: str, message: str) -> None:
    problems: Problems = {}
    limited(typed, "name", "The name", 120, problems)
    assert message in problems["name"]


def test_names_are_cleaned_to_what_they_show() -> None:
    problems: Problems = {}
    assert limited("\u200bCafe\u0301 \u200d", "name", "The name", 120, problems) == "Café"
    assert limited("An\u200bn", "name", "The name", 120, problems) == "Ann"
    assert limited("Nguyễn Thị Hằng", "name", "The name", 120, problems) == "Nguyễn Thị Hằng"
    assert limited("क्षत्रिय", "name", "The name", 120, problems) == "क्षत्रिय"
    assert problems == {}


def test_odd_unicode_is_refused_by_the_pages_the_api_imports_and_staff(
    app: Flask, shop: Shop, owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    status, body = _api(app, shop, "/api/customers", '{"name": "Ann\\u202eevil"}')
    assert status == 400 and "U+202E" in str(body)
    status, body = _api(app, shop, "/api/customers", '{"name": "\\u200b"}')
    assert status == 400 and "invisible" in str(body)
    page = upload(owner_client, "customers", "name\n\u200b\u200b\n").get_data(as_text=True)
    assert "only invisible characters" in page
    response = owner_client.post(
        "/staff/new",
        data={
            "csrf_token": csrf_token(owner_client, "/staff/new"),
            "idempotency_key": str(uuid.uuid4()),
            "name": "Bob\u202eevil",
            "email": "bob@example.com",
            "role": "clerk",
            "password": "a long enough password 1",
            "confirm": "a long enough password 1",
        },
    )
    assert response.status_code == 400
    assert "U+202E" in response.get_data(as_text=True)
    response = owner_client.post(
        "/settings",
        data={
            "csrf_token": csrf_token(owner_client, "/settings"),
            "name": "My \u2066Shop",
            "currency": "USD",
            "timezone": "UTC",
            "credit_days": "30",
            "low_stock_threshold": "5",
            "default_credit_limit": "0",
            "receipt_paper": "a4",
            "api_requests_per_minute": "600",
            "clerk_correction_minutes": "30",
        },
    )
    assert "U+2066" in response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(0,)]


@pytest.mark.parametrize("typed", ["١٢.٥٠", "１２", "12.５", "۱۲"])
def test_money_and_quantities_take_only_the_digits_0_to_9(typed: str) -> None:
    assert parse_amount(typed) is None
    assert whole_number(typed) is None
    problems: Problems = {}
    assert money_field(typed, "The price", problems, "price") == Decimal("0.00")
    assert "digits 0 to 9" in problems["price"]


def test_a_payment_in_other_digits_is_refused_by_the_api(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    status, _ = _api(
        app, shop, "/api/payments", f'{{"customer_id": "{customer}", "amount": "١٢.٥٠"}}'
    )
    assert status == 400


def test_a_reminder_shows_the_name_as_one_line_of_visible_text() -> None:
    """Names saved before the rules may hold what the rules now refuse: the reminder shows it
    plainly (the overdue list puts the whole message on each link before it is sent)."""
    text = reminder_text("Alpha Store", "Ann\u202e\nPay to 999", "$5.00", "1 May")
    assert text.startswith("Hello Ann Pay to 999, this is Alpha Store.")
    assert "\u202e" not in text and "\n" not in text


def test_the_overdue_list_shows_each_reminder_before_it_is_sent(
    app: Flask, shop: Shop, database: DatabaseUrls, owner_client: FlaskClient
) -> None:
    from tests.helpers import redate_sale

    customer = add_customer(database.admin, shop.business_id, "Ann", phone="+254700000001")
    product = add_product(database.admin, shop.business_id)
    redate_sale(database.admin, sell(app, shop, customer, product, 1), -10, created_days_ago=40)
    page = owner_client.get("/overdue").get_data(as_text=True)
    assert 'title="Opens WhatsApp with: Hello Ann, this is Alpha Store.' in page


# 9. A CSV preview is confirmed once, within an hour.


def test_a_preview_confirmed_again_with_a_new_key_imports_nothing_twice(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    content = "name,opening_balance,credit_limit\nGrace,10,100\n"
    form = confirm_form(upload(owner_client, "customers", content).get_data(as_text=True))
    assert confirm(owner_client, "customers", form).status_code == 302
    replay = {**form, "idempotency_key": str(uuid.uuid4())}
    response = confirm(owner_client, "customers", replay)
    assert response.status_code == 302
    page = owner_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This preview was imported already; it was not imported again." in page
    assert fetch(database.admin, "SELECT count(*), sum(total) FROM orders") == [
        (1, Decimal("10.00"))
    ]
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(1,)]


def test_a_preview_older_than_an_hour_is_not_imported(
    owner_client: FlaskClient, database: DatabaseUrls, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = confirm_form(upload(owner_client, "customers", "name\nGrace\n").get_data(as_text=True))
    later = import_routes.now() + import_routes.PREVIEW_LIFETIME + 1
    monkeypatch.setattr(import_routes, "now", lambda: later)
    response = confirm(owner_client, "customers", form)
    assert response.status_code == 400
    assert "more than an hour old" in response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(0,)]


# 13. Smaller ones.


def test_the_tokens_own_business_in_capitals_is_its_business(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    body = f'{{"name": "Grace", "business_id": "{str(shop.business_id).upper()}"}}'
    status, _ = _api(app, shop, "/api/customers", body)
    assert status == 201
    other = f'{{"name": "G", "business_id": "{uuid.uuid4()}"}}'
    status, _ = _api(app, shop, "/api/customers", other)
    assert status == 403


def test_a_negative_web_payment_is_a_bad_request(
    app: Flask, shop: Shop, database: DatabaseUrls, clerk_client: FlaskClient
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    sell(app, shop, customer, product, 1)
    path = f"/payments/new?customer={customer}"
    response = clerk_client.post(
        "/payments/new",
        data={
            "csrf_token": csrf_token(clerk_client, path),
            "idempotency_key": str(uuid.uuid4()),
            "customer_id": str(customer),
            "amount": "-5",
            "method": "cash",
        },
    )
    assert response.status_code == 400
    assert fetch(database.admin, "SELECT count(*) FROM payments") == [(0,)]


@pytest.mark.parametrize("stock", ["99999999", "99999999999", "1000001"])
def test_a_stock_too_large_names_the_maximum(owner_client: FlaskClient, stock: str) -> None:
    page = upload(owner_client, "products", f"name,price,stock\nRice,1.50,{stock}\n")
    assert "The stock is at most 1,000,000." in page.get_data(as_text=True)


def test_a_semicolon_file_may_use_decimal_commas_and_a_comma_file_may_not(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    preview_and_import(owner_client, "products", "name;price;stock\nRice;1,50;3\n")
    preview_and_import(
        owner_client, "customers", "name;credit_limit;opening_balance\nGrace;100,00;12,5\n"
    )
    assert fetch(database.admin, "SELECT name, price FROM products") == [("Rice", Decimal("1.50"))]
    assert fetch(database.admin, "SELECT credit_limit, balance FROM customers") == [
        (Decimal("100.00"), Decimal("12.50"))
    ]
    page = upload(owner_client, "products", 'name,price\nOil,"1,50"\n').get_data(as_text=True)
    assert "with a point before the cents" in page


def test_the_text_backslash_u0000_in_json_is_text_and_a_real_nul_is_not(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    status, body = _api(app, shop, "/api/customers", '{"name": "Ann", "notes": "a\\\\u0000b"}')
    assert status == 201, body
    assert fetch(database.admin, "SELECT notes FROM customers") == [("a\\u0000b",)]
    status, _ = _api(app, shop, "/api/customers", '{"name": "Bo", "notes": "a\\u0000b"}')
    assert status == 400
    status, _ = _api(app, shop, "/api/customers", '{"name": "Bo", "a\\u0000": 1}')
    assert status == 400
