"""Business A, at its most powerful (the owner; its API token), aimed at business B's rows: every
route that takes an id answers 404 for each of B's ids, nothing shows B's data, and B's rows stay
exactly as they were. Then the same through SQL, as the app role with A bound.

Routes are read from `app.url_map`, so a route added later is covered without a change here; a
route whose id parameter tests/routes.py cannot fill fails the matrix instead of being skipped.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from tests.helpers import Shop, csrf_token, fetch, ledger_violations, signed_in
from tests.routes import (
    PLAUSIBLE,
    Form,
    Rows,
    UnmappedParameter,
    fill,
    harvest_forms,
    methods,
    rules,
    seed,
    takes_id,
)
from webapp import ledger
from webapp.db import get_db
from webapp.embedded import DatabaseUrls
from webapp.models import TENANT_TABLES

B_CUSTOMER = "Bertha Secretcustomer"
B_PRODUCT = "Secretbrand Beans"
B_PHONE = "+1 555 0199 777"
# A form field that names a row, when the page left it blank.
ID_FIELDS = {
    "customer_id": "customer",
    "order_id": "sale",
    "product": "product",
    "product_id": "product",
    "user_id": "user",
    "payment_id": "payment",
}


@pytest.fixture
def tenants(app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop) -> tuple[Rows, Rows]:
    a = seed(app, database.admin, shop, customer_name="Alice Alpha", product_name="Alpha Apples")
    b = seed(
        app,
        database.admin,
        other_shop,
        customer_name=B_CUSTOMER,
        product_name=B_PRODUCT,
        phone=B_PHONE,
    )
    return a, b


def snapshot(admin_url: str, business_id: uuid.UUID) -> dict[str, list[str]]:
    """Every row of the business in every table, as the owner sees them."""
    with psycopg.connect(admin_url) as conn:
        rows = {
            "businesses": conn.execute(
                "SELECT to_jsonb(t)::text FROM businesses t WHERE id = %s", (business_id,)
            ).fetchall()
        }
        for table in TENANT_TABLES:
            rows[table] = conn.execute(
                f"SELECT to_jsonb(t)::text AS r FROM {table} t WHERE business_id = %s ORDER BY r",
                (business_id,),
            ).fetchall()
    return {table: [row[0] for row in found] for table, found in rows.items()}


def secrets_of(other_shop: Shop, b: Rows | None = None) -> list[str]:
    """What of B's must never appear in an answer to A: its names and, when A did not send
    them itself (an id A typed may be shown back to A), its ids."""
    return [
        B_CUSTOMER,
        B_PRODUCT,
        B_PHONE,
        other_shop.name,
        other_shop.slug,
        other_shop.owner_email,
        str(other_shop.owner_id),
        *(str(value) for value in (b.ids.values() if b else ())),
    ]


def leaks(response: TestResponse, secrets: list[str]) -> list[str]:
    """The secrets in the answer's text; a binary answer (the overdue list's .xlsx, a zip of
    XML) is read as the text of its parts."""
    data = response.get_data()
    if data.startswith(b"PK"):
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as parts:
            body = "".join(parts.read(name).decode("utf-8") for name in parts.namelist())
    else:
        body = data.decode("utf-8")
    return [secret for secret in secrets if secret in body]


def form_data(
    form: Form | None, token: str, ids: dict[str, uuid.UUID], swap: dict[str, str]
) -> MultiDict[str, str]:
    """What a browser would send from `form` (or, for a form no page showed, every field the
    app's forms use), with A's ids swapped for B's and blank fields filled plausibly."""
    fields = form.fields if form is not None else [(name, "") for name in PLAUSIBLE]
    data: list[tuple[str, str]] = [("csrf_token", token)]
    for name, value in fields:
        if name == "csrf_token":
            continue
        if name == "idempotency_key":
            value = str(uuid.uuid4())
        elif value in swap:
            value = swap[value]
        elif not value and name in ID_FIELDS:
            value = str(ids[ID_FIELDS[name]])
        elif not value:
            value = PLAUSIBLE.get(name, "")
        data.append((name, value))
    return MultiDict(data)


def api_body(ids: dict[str, uuid.UUID], endpoint: str) -> dict[str, object]:
    """A JSON body naming B's rows wherever an API body can name one (a sale's items, not the
    amount of a quick entry: a sale is one or the other)."""
    body: dict[str, object] = {
        "customer_id": str(ids["customer"]),
        "order_id": str(ids["sale"]),
        "product_id": str(ids["product"]),
        "items": [{"product_id": str(ids["product"]), "quantity": 1}],
        "amount": "1.00",
        "method": "cash",
        "name": "Changed by A",
        "price": "1.00",
        "credit_limit": "5.00",
        "reason": "Changed by A",
        "idempotency_key": str(uuid.uuid4()),
    }
    if endpoint in ("api.purchase", "api.sale_returns"):
        del body["amount"]
    return body


def test_every_route_with_an_id_answers_404_for_another_business(
    app: Flask,
    database: DatabaseUrls,
    shop: Shop,
    other_shop: Shop,
    tenants: tuple[Rows, Rows],
) -> None:
    a, b = tenants
    before = snapshot(database.admin, other_shop.business_id)
    assert all(before.values()), "seed() must give B a row in every table: " + ", ".join(
        table for table, rows in before.items() if not rows
    )
    owner = signed_in(app, shop.slug, shop.owner_email)
    api = app.test_client()
    token = csrf_token(owner, "/")
    forms = harvest_forms(app, owner, a.ids)
    swap = {str(a.ids[kind]): str(b.ids[kind]) for kind in a.ids}
    secrets = secrets_of(other_shop, b)

    unmapped: list[str] = []
    answers: dict[str, TestResponse] = {}
    control: dict[str, int] = {}
    for rule in rules(app):
        if not takes_id(rule):
            continue
        try:
            routes = list(fill(rule, b.ids))
            own = {route.values.get("kind"): route for route in fill(rule, a.ids)}
        except UnmappedParameter as error:
            unmapped.append(str(error))
            continue
        is_api = rule.endpoint.startswith("api.")
        for route in routes:
            for method in methods(rule):
                name = f"{method} {route.path} ({rule.endpoint})"
                if is_api:
                    answers[name] = api.open(
                        route.path,
                        method=method,
                        headers=a.auth,
                        json=api_body(b.ids, rule.endpoint),
                    )
                elif method == "GET":
                    answers[name] = owner.get(route.path)
                else:
                    data = form_data(forms.get(rule.endpoint), token, b.ids, swap)
                    answers[name] = owner.open(route.path, method=method, data=data)
            if "GET" in methods(rule):  # the same route with A's own ids is found
                mine = own[route.values.get("kind")].path
                client, headers = (api, a.auth) if is_api else (owner, {})
                control[mine] = client.get(mine, headers=headers).status_code

    assert unmapped == []
    assert len(answers) >= 10
    assert {name: r.status_code for name, r in answers.items() if r.status_code != 404} == {}
    assert {name: found for name, r in answers.items() if (found := leaks(r, secrets))} == {}
    assert {path: status for path, status in control.items() if status != 200} == {}
    assert owner.get("/").status_code == 200  # A was signed in throughout: 404s, not sign-ins
    assert snapshot(database.admin, other_shop.business_id) == before
    assert ledger_violations(database.admin) == []


def test_forms_and_api_calls_naming_another_business_rows_change_nothing_of_it(
    app: Flask,
    database: DatabaseUrls,
    shop: Shop,
    other_shop: Shop,
    tenants: tuple[Rows, Rows],
) -> None:
    """Routes without an id in the path take ids in the form, the query or the JSON body."""
    a, b = tenants
    before = snapshot(database.admin, other_shop.business_id)
    owner = signed_in(app, shop.slug, shop.owner_email)
    api = app.test_client()
    token = csrf_token(owner, "/")
    forms = harvest_forms(app, owner, a.ids)
    swap = {str(a.ids[kind]): str(b.ids[kind]) for kind in a.ids}
    secrets = secrets_of(other_shop)
    query = "?" + "&".join(
        f"{name}={b.ids[kind]}"
        for name, kind in (("customer", "customer"), ("sale", "sale"), ("product", "product"))
    )

    answers: dict[str, TestResponse] = {}
    for rule in rules(app):
        if takes_id(rule) or rule.endpoint == "auth.logout":
            continue
        for route in fill(rule, b.ids):
            for method in methods(rule):
                name = f"{method} {route.path} ({rule.endpoint})"
                if rule.endpoint.startswith("api."):
                    body = api_body(b.ids, rule.endpoint)
                    answers[name] = api.open(
                        route.path + query, method=method, headers=a.auth, json=body
                    )
                    answers[name + " as B"] = api.open(
                        route.path,
                        method=method,
                        headers=a.auth,
                        json={**body, "business_id": str(other_shop.business_id)},
                    )
                elif method == "GET":
                    answers[name] = owner.get(route.path + query)
                else:
                    data = form_data(forms.get(rule.endpoint), token, b.ids, swap)
                    answers[name] = owner.open(route.path, method=method, data=data)

    assert not {name: r.status_code for name, r in answers.items() if r.status_code >= 500}
    assert {name: found for name, r in answers.items() if (found := leaks(r, secrets))} == {}
    # Naming B's business outright is refused before anything is read.
    assert {
        name: r.status_code
        for name, r in answers.items()
        if name.endswith(" as B") and name.startswith("POST") and r.status_code != 403
    } == {}
    # The ledger's own entry points: B's customer, product or sale is simply not found.
    expected_404 = [
        "GET /sales/new (sales.new)",
        "GET /payments/new (payments.new)",
        "POST /sales/new (sales.new)",
        "POST /payments/new (payments.new)",
        "POST /api/purchase (api.purchase)",
        "POST /api/payments (api.payments)",
    ]
    assert {name: answers[name].status_code for name in expected_404} == dict.fromkeys(
        expected_404, 404
    )
    mixed = {
        "customer_id": str(a.ids["customer"]),
        "items": [{"product_id": str(b.ids["product"]), "quantity": 1}],
    }
    refused = api.post("/api/purchase", json=mixed, headers=a.auth)
    assert (refused.status_code, refused.get_json()["error"]) == (404, "product not found")
    paying = {
        "customer_id": str(a.ids["customer"]),
        "amount": "1.00",
        "order_id": str(b.ids["sale"]),
    }
    refused = api.post("/api/payments", json=paying, headers=a.auth)
    assert (refused.status_code, refused.get_json()["error"]) == (404, "sale not found")
    assert leaks(refused, secrets) == []
    page = owner.post(
        "/sales/new",
        data={
            "csrf_token": token,
            "customer_id": str(a.ids["customer"]),
            "idempotency_key": str(uuid.uuid4()),
            "product": [str(b.ids["product"])],
            "quantity": ["1"],
        },
    )
    assert page.status_code == 409
    assert "not for sale" in page.get_data(as_text=True)
    assert leaks(page, secrets) == []

    assert owner.get("/").status_code == 200
    assert snapshot(database.admin, other_shop.business_id) == before
    assert ledger_violations(database.admin) == []


# ---------------------------------------------------------------------------------------------
# Through SQL, as the app role with A bound (tests/test_tenancy.py covers customers; this is
# every table, every statement, and the ledger functions).

ALL_TABLES = ("businesses", *TENANT_TABLES)


def _key(table: str) -> str:
    return "id" if table == "businesses" else "business_id"


@pytest.fixture
def as_a(database: DatabaseUrls, shop: Shop) -> Iterator[psycopg.Connection]:
    """The app role, with A bound (in the transaction open now: see _fresh)."""
    with psycopg.connect(database.app) as conn:
        _fresh(conn, shop.business_id)
        yield conn


def _fresh(conn: psycopg.Connection, business_id: uuid.UUID) -> None:
    """A new transaction with the business bound (a binding ends with its transaction)."""
    conn.rollback()
    conn.execute("SELECT set_config('app.business_id', %s, true)", (str(business_id),))


def _row_keys(admin_url: str, b: uuid.UUID) -> dict[str, list[str]]:
    """The key (other than the business) of each of B's rows, per table."""
    with psycopg.connect(admin_url) as conn:
        return {
            table: [
                row[0]
                for row in conn.execute(
                    f"SELECT {_column(table)}::text FROM {table} WHERE {_key(table)} = %s", (b,)
                )
            ]
            for table in ALL_TABLES
        }


def _column(table: str) -> str:
    return {
        "open_dues": "due_on",
        "product_codes": "code",
        "document_counters": "kind",
        "return_items": "product_id",
        "refund_sources": "payment_id",
        "sales_by_day": "product_id",
        "sales_by_month": "product_id",
        "sales_totals_by_day": "day",
        "owed_by_day": "due_on",
        "collections_by_day": "method",
    }.get(table, "id")


def _as_b(conn: psycopg.Connection, table: str) -> str:
    """SQL for a copy of one of A's rows as B's (%s: B's id): only the business differs (and
    the columns PostgreSQL computes are left for it to compute)."""
    override = (
        "jsonb_build_object('id', %s::text)"
        if table == "businesses"
        else "jsonb_build_object('business_id', %s::text, 'id', gen_random_uuid())"
    )
    columns = [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
            (table,),
        )
    ]
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(f'r.{c}' for c in columns)} FROM {table} t, "
        f"LATERAL jsonb_populate_record(NULL::{table}, to_jsonb(t) || {override}) r LIMIT 1"
    )


def _attempt(conn: psycopg.Connection, a: uuid.UUID, sql: str, params: tuple[object, ...]) -> str:
    """What the statement did: 'refused: <sqlstate>' or the count of rows it saw or changed."""
    try:
        cursor = conn.execute(sql, params)
        result = cursor.fetchone()[0] if cursor.description else cursor.rowcount
    except psycopg.Error as error:
        result = f"refused: {error.sqlstate}"
    _fresh(conn, a)
    return str(result)


def test_a_shared_statement_shows_nothing_of_another_business(
    app: Flask,
    database: DatabaseUrls,
    shop: Shop,
    other_shop: Shop,
    tenants: tuple[Rows, Rows],
) -> None:
    """A's customer's statement link, made on A's page, opened by anyone — a stranger, or B's
    owner signed in — shows A's customer and nothing of B's; B's link id cannot be revoked
    from A's customer's page."""
    import re

    a, b = tenants
    b_owner = signed_in(app, other_shop.slug, other_shop.owner_email)
    before = snapshot(database.admin, other_shop.business_id)
    owner = signed_in(app, shop.slug, shop.owner_email)
    page = f"/customers/{a.ids['customer']}"
    body = owner.get(page).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', body)
    assert key
    made = owner.post(
        f"{page}/statement-links",
        data={"csrf_token": csrf_token(owner, page), "idempotency_key": key.group(1)},
    )
    assert made.status_code == 302
    found = re.search(r"http://localhost(/s/[A-Za-z0-9_-]{43})", owner.get(page).get_data(True))
    assert found
    secrets = secrets_of(other_shop, b)
    for opener in (app.test_client(), b_owner):
        shown = opener.get(found.group(1))
        assert shown.status_code == 200 and "Alice Alpha" in shown.get_data(as_text=True)
        assert leaks(shown, secrets) == []
    revoke = owner.post(
        f"{page}/statement-links/{b.ids['statement_link']}/revoke",
        data={"csrf_token": csrf_token(owner, page)},
    )
    assert revoke.status_code == 404
    assert snapshot(database.admin, other_shop.business_id) == before


@pytest.mark.usefixtures("tenants")
def test_the_app_role_with_a_bound_cannot_read_or_change_b_in_any_table(
    as_a: psycopg.Connection, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    a, b = shop.business_id, other_shop.business_id
    before = snapshot(database.admin, b)
    keys = _row_keys(database.admin, b)
    # B has rows in every table, so a count of 0 below means hidden, not absent.
    assert [table for table, found in keys.items() if not found] == []
    denied = "refused: 42501"  # insufficient privilege: no grant, or the policy's WITH CHECK
    found: dict[str, str] = {}
    for table in ALL_TABLES:
        key, column = _key(table), _column(table)
        of_b = f"{column}::text = ANY(%s)"
        statements: dict[str, tuple[str, tuple[object, ...], set[str]]] = {
            "select B": (f"SELECT count(*) FROM {table} WHERE {key} = %s", (b,), {"0"}),
            "select B's keys": (
                f"SELECT count(*) FROM {table} WHERE {of_b} AND {key} <> %s",
                (keys[table], a),
                {"0"},
            ),
            "select another business": (
                f"SELECT count(*) FROM {table} WHERE {key} <> %s",
                (a,),
                {"0"},
            ),
            "lock B": (
                f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {key} = %s FOR UPDATE) x",
                (b,),
                {"0", denied},
            ),
            "update B": (
                f"UPDATE {table} SET {key} = {key} WHERE {key} = %s",
                (b,),
                {"0", denied},
            ),
            "update B's keys": (
                f"UPDATE {table} SET {key} = {key} WHERE {of_b} AND {key} <> %s",
                (keys[table], a),
                {"0", denied},
            ),
            "delete B": (f"DELETE FROM {table} WHERE {key} = %s", (b,), {"0", denied}),
            "move A's rows into B": (f"UPDATE {table} SET {key} = %s", (b,), {denied}),
            "insert a row as B's": (_as_b(as_a, table), (b,), {denied}),
        }
        for name, (sql, params, allowed) in statements.items():
            result = _attempt(as_a, a, sql, params)
            if result not in allowed:
                found[f"{table}: {name}"] = result
        # A sees its own rows, so the zeros above are not from seeing nothing at all.
        if _attempt(as_a, a, f"SELECT count(*) FROM {table}", ()) == "0":
            found[f"{table}: A sees none of its own rows"] = "0"

    assert found == {}
    assert snapshot(database.admin, b) == before


@pytest.mark.usefixtures("tenants")
def test_the_policy_itself_refuses_rows_written_for_another_business(
    as_a: psycopg.Connection, shop: Shop, other_shop: Shop
) -> None:
    """Every table the app role may insert into: a copy of an A row that names B is refused
    by the row-level security policy's WITH CHECK, not merely by a missing grant."""
    insertable = sorted(
        row[0]
        for row in as_a.execute(
            "SELECT DISTINCT table_name FROM information_schema.role_table_grants "
            "WHERE grantee = 'shopcredit_app' AND privilege_type = 'INSERT'"
        )
    )
    assert {"customers", "products", "stock_movements", "imports"} <= set(insertable)
    # The ledger's own rows are the ledger functions' to write (0011).
    assert not {"orders", "order_items", "payments", "payment_allocations", "open_dues"} & set(
        insertable
    )
    for table in insertable:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            as_a.execute(_as_b(as_a, table), (other_shop.business_id,))
        _fresh(as_a, shop.business_id)


def _refusal(conn: psycopg.Connection, a: uuid.UUID, sql: str, params: tuple[object, ...]) -> str:
    try:
        conn.execute(sql, params)
    except psycopg.Error as error:
        _fresh(conn, a)
        return error.sqlstate or ""
    _fresh(conn, a)
    return "accepted"


PURCHASE = "SELECT * FROM process_purchase(%s, %s, %s::jsonb, %s, %s, %s)"
PAYMENT = "SELECT * FROM record_payment(%s, %s, %s, 'cash', '', %s, %s, %s, %s)"
STOCK = "SELECT * FROM adjust_stock(%s, %s, 5, 'delivery', '', %s, %s, NULL)"
OPENING = (
    "SELECT record_opening_balances(%s, jsonb_build_array(jsonb_build_object("
    "'customer_id', %s::text, 'amount', %s::text)), %s)"
)


def test_the_ledger_functions_refuse_another_business_rows(
    as_a: psycopg.Connection,
    database: DatabaseUrls,
    shop: Shop,
    other_shop: Shop,
    tenants: tuple[Rows, Rows],
) -> None:
    a, b = (rows.ids for rows in tenants)
    before = snapshot(database.admin, other_shop.business_id)
    a_before = snapshot(database.admin, shop.business_id)

    def items(product: uuid.UUID) -> str:
        return json.dumps([{"product_id": str(product), "quantity": 1}])

    key = str(uuid.uuid4())
    owner, b_owner = shop.owner_id, other_shop.owner_id
    one = Decimal("1.00")
    # Every call names A, the business bound: the rows named are what is at stake here.
    ours = shop.business_id
    calls = {
        "sale to B's customer": (
            PURCHASE,
            (ours, b["customer"], items(a["product"]), key, owner, None),
        ),
        "sale of B's product": (
            PURCHASE,
            (ours, a["customer"], items(b["product"]), key, owner, None),
        ),
        "payment from B's customer": (PAYMENT, (ours, b["customer"], one, key, owner, None, None)),
        "payment to B's sale": (PAYMENT, (ours, a["customer"], one, key, owner, b["sale"], None)),
        "restock of B's product": (STOCK, (ours, b["product"], key, owner)),
        "opening balance of B's customer": (OPENING, (ours, b["customer"], one, owner)),
    }
    refused = {name: _refusal(as_a, shop.business_id, *call) for name, call in calls.items()}
    assert refused == dict.fromkeys(calls, "SC003")

    # A's own rows, but in the name of B's user or through B's token: refused too.
    a_sale = (ours, a["customer"], items(a["product"]), key)
    as_b = {
        "sale by B's owner": (PURCHASE, (*a_sale, b_owner, None)),
        "sale through B's token": (PURCHASE, (*a_sale, owner, b["token"])),
        "payment by B's owner": (PAYMENT, (ours, a["customer"], one, key, b_owner, None, None)),
        "payment through B's token": (
            PAYMENT,
            (ours, a["customer"], one, key, owner, None, b["token"]),
        ),
        "restock by B's owner": (STOCK, (ours, a["product"], key, b_owner)),
        "opening balance by B's owner": (OPENING, (ours, a["customer"], one, b_owner)),
    }
    refused = {name: _refusal(as_a, shop.business_id, *call) for name, call in as_b.items()}
    assert refused == dict.fromkeys(as_b, "SC004")

    # B's idempotency key, sent by A, names nothing of B's: A gets a new sale of its own.
    ((b_key,),) = fetch(
        database.admin, "SELECT idempotency_key FROM orders WHERE id = %s", b["sale"]
    )
    row = as_a.execute(PURCHASE, (*a_sale[:3], b_key, owner, None)).fetchone()
    assert row[0] != b["sale"] and row[1] is True
    _fresh(as_a, shop.business_id)

    assert snapshot(database.admin, other_shop.business_id) == before
    assert snapshot(database.admin, shop.business_id) == a_before
    assert ledger_violations(database.admin) == []


def _refusal_detail(
    conn: psycopg.Connection, sql: str, params: tuple[object, ...]
) -> tuple[str, dict[str, str]] | str:
    """The SQLSTATE and JSON DETAIL of a refused call (in the transaction open now), or
    "accepted"."""
    try:
        conn.execute(sql, params)
    except psycopg.Error as error:
        return error.sqlstate or "", json.loads(error.diag.message_detail or "{}")
    return "accepted"


def test_the_ledger_functions_refuse_a_business_other_than_the_bound_one(
    as_a: psycopg.Connection,
    database: DatabaseUrls,
    shop: Shop,
    other_shop: Shop,
    tenants: tuple[Rows, Rows],
) -> None:
    """Each ledger function names its business first (p_business_id, by which a distributed
    PostgreSQL routes the call), but the business bound to the transaction decides: with A
    bound, naming B is refused with SC003 {"entity": "business"} before anything is read or
    written, whether the rows are A's or B's; so is naming A with no business bound. The same
    calls naming A with A bound go through, so the business is all that is refused."""
    a, b = (rows.ids for rows in tenants)
    ours, theirs = shop.business_id, other_shop.business_id
    before = {ours: snapshot(database.admin, ours), theirs: snapshot(database.admin, theirs)}
    owner, b_owner = shop.owner_id, other_shop.owner_id
    one = Decimal("1.00")

    def items(product: uuid.UUID) -> str:
        return json.dumps([{"product_id": str(product), "quantity": 1}])

    def calls(
        business: uuid.UUID | None, rows: dict[str, uuid.UUID], user: uuid.UUID
    ) -> dict[str, tuple[str, tuple[object, ...]]]:
        key = str(uuid.uuid4())
        return {
            "process_purchase": (
                PURCHASE,
                (business, rows["customer"], items(rows["product"]), key, user, None),
            ),
            "record_payment": (PAYMENT, (business, rows["customer"], one, key, user, None, None)),
            "adjust_stock": (STOCK, (business, rows["product"], key, user)),
            "record_opening_balances": (OPENING, (business, rows["customer"], one, user)),
        }

    def attempt(
        bound: uuid.UUID | None, named: dict[str, tuple[str, tuple[object, ...]]]
    ) -> dict[str, object]:
        found = {}
        for name, (sql, params) in named.items():
            as_a.rollback()  # a new transaction, which binds `bound` (or nothing)
            if bound is not None:
                as_a.execute("SELECT set_config('app.business_id', %s, true)", (str(bound),))
            found[name] = _refusal_detail(as_a, sql, params)
            as_a.rollback()  # what went through is not kept
        _fresh(as_a, ours)
        return found

    def business(named: uuid.UUID | None) -> tuple[str, dict[str, str | None]]:
        return "SC003", {"entity": "business", "id": str(named) if named else None}

    functions = calls(ours, a, owner).keys()
    # A bound, B named: on A's rows and on B's (in B's owner's name).
    assert attempt(ours, calls(theirs, a, owner)) == dict.fromkeys(functions, business(theirs))
    assert attempt(ours, calls(theirs, b, b_owner)) == dict.fromkeys(functions, business(theirs))
    # No business named, or no business bound.
    assert attempt(ours, calls(None, a, owner)) == dict.fromkeys(functions, business(None))
    assert attempt(None, calls(ours, a, owner)) == dict.fromkeys(functions, business(ours))
    # A bound and named: the same calls go through (and were rolled back).
    assert attempt(ours, calls(ours, a, owner)) == dict.fromkeys(functions, "accepted")

    assert snapshot(database.admin, ours) == before[ours]
    assert snapshot(database.admin, theirs) == before[theirs]
    assert ledger_violations(database.admin) == []


def test_the_ledger_module_refuses_a_session_with_no_business_bound(
    app: Flask, database: DatabaseUrls, shop: Shop, tenants: tuple[Rows, Rows]
) -> None:
    """webapp.ledger takes the business it passes from the session's bound tenant: with none, it
    says so before any SQL is sent."""
    a, _ = (rows.ids for rows in tenants)
    before = snapshot(database.admin, shop.business_id)
    calls = {
        "purchase": lambda session: ledger.purchase(
            session,
            customer_id=a["customer"],
            lines=[ledger.Line(a["product"], 1)],
            idempotency_key=uuid.uuid4(),
            user_id=shop.owner_id,
        ),
        "pay": lambda session: ledger.pay(
            session,
            customer_id=a["customer"],
            amount=Decimal("1.00"),
            method="cash",
            note="",
            idempotency_key=uuid.uuid4(),
            user_id=shop.owner_id,
        ),
        "adjust_stock": lambda session: ledger.adjust_stock(
            session,
            product_id=a["product"],
            reason="delivery",
            idempotency_key=uuid.uuid4(),
            user_id=shop.owner_id,
            change=1,
        ),
        "record_opening_balances": lambda session: ledger.record_opening_balances(
            session, [(a["customer"], Decimal("1.00"))], user_id=shop.owner_id
        ),
    }
    for name, call in calls.items():
        with app.app_context(), get_db().sessions() as session:
            with pytest.raises(ledger.NoTenantBound, match="No business is bound"):
                call(session)
            assert not session.in_transaction(), name  # nothing was sent
    assert snapshot(database.admin, shop.business_id) == before


def test_the_reports_show_none_of_another_business(
    app: Flask, shop: Shop, other_shop: Shop, tenants: tuple[Rows, Rows]
) -> None:
    """Every report and its CSV, over the longest period they offer: A's own products and
    customers are there, nothing of B's is (the rollups hold both shops' rows)."""
    _a, b = tenants
    owner = signed_in(app, shop.slug, shop.owner_email)
    secrets = secrets_of(other_shop, b)
    own: dict[str, str] = {}
    for path in (
        "/reports",
        "/reports/sales?by=week",
        "/reports/sales.csv?by=week",
        "/reports/collections?by=week",
        "/reports/collections.csv?by=week",
        "/reports/owed?by=week",
        "/reports/owed.csv?by=week",
        "/reports/customers",
        "/reports/customers.csv",
    ):
        answer = owner.get(path)
        assert answer.status_code == 200, path
        assert leaks(answer, secrets) == [], path
        own[path] = answer.get_data(as_text=True)
    assert "Alpha Apples" in own["/reports/sales?by=week"]
    assert "Alpha Apples" in own["/reports/sales.csv?by=week"]
    assert "Alice Alpha" in own["/reports/customers"]
