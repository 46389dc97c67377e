"""The activity log (issue 13): each change the app makes writes its line in the change's own
transaction, with who and before → after (never a password, hash or token); the app role may add
lines but never change or remove one; owners read it at /activity (filters, pages, CSV) and on a
customer's and a product's page; clerks and other shops never see it."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import threading
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import (
    PASSWORD,
    Shop,
    add_customer,
    add_product,
    at_once,
    csrf_token,
    fetch,
    signed_in,
    tenant_session,
)
from tests.test_settings import GOOD, TOKEN_VALUE, token_form
from webapp.customers import operations as customer_operations
from webapp.customers.queries import get_customer
from webapp.embedded import DatabaseUrls

NEW_PASSWORD = "a brand new secret"
COLUMNS = "kind, summary, before, after, reason, user_id, customer_id, product_id"


def entries(
    admin_url: str, business_id: uuid.UUID, kind: str | None = None, *, admin_too: bool = False
) -> list[Any]:
    """The shop's lines as written (read as the owner of the tables), oldest first; without
    the admin command's (make_shop adds the shop's staff through it) unless `admin_too`."""
    return fetch(
        admin_url,
        f"SELECT {COLUMNS} FROM activity_log WHERE business_id = %s"
        " AND (%s::text IS NULL OR kind = %s) AND (%s OR user_id IS NOT NULL)"
        " ORDER BY at, summary",
        business_id,
        kind,
        kind,
        admin_too,
    )


def text_of(response: TestResponse) -> str:
    """The page's words without markup."""
    page = html.unescape(response.get_data(as_text=True))
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def post(client: FlaskClient, path: str, **data: str) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **data})


def edit_customer(client: FlaskClient, customer: uuid.UUID, **fields: str) -> TestResponse:
    data = {"name": "Grace Wanjiru", "phone": "", "email": "", "notes": "", **fields}
    return post(client, f"/customers/{customer}/edit", **data)


def edit_product(client: FlaskClient, product: uuid.UUID, **fields: str) -> TestResponse:
    data = {"name": "Rice 5 kg", "sku": "", "price": "10.00", **fields}
    return post(client, f"/products/{product}/edit", **data)


def form_key(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return page.split('name="idempotency_key" type="hidden" value="', 1)[1].split('"', 1)[0]


def add_staff(client: FlaskClient, **fields: str) -> TestResponse:
    data = {
        "idempotency_key": form_key(client, "/staff/new"),
        "name": "Nia New",
        "email": "nia@alpha-store.test",
        "role": "clerk",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        **fields,
    }
    return post(client, "/staff/new", **data)


# --- each kind, written by its operation -----------------------------------------------------


def test_a_credit_limit_change_is_logged_with_before_and_after(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace Wanjiru", credit_limit="5000")
    form = owner_client.get(f"/customers/{customer}/edit").get_data(as_text=True)
    assert "Why the limit changes (optional)" in form
    response = edit_customer(
        owner_client, customer, credit_limit="8000.00", limit_reason="A year of payments on time"
    )
    assert response.status_code == 302
    assert entries(database.admin, shop.business_id) == [
        (
            "credit_limit",
            "Credit limit of Grace Wanjiru: 5,000.00 → 8,000.00",
            {"credit_limit": "5000.00"},
            {"credit_limit": "8000.00"},
            "A year of payments on time",
            shop.owner_id,
            customer,
            None,
        )
    ]
    # Saving other details with the same limit is no credit-limit change.
    assert (
        edit_customer(owner_client, customer, credit_limit="8000", phone="0700").status_code == 302
    )
    assert len(entries(database.admin, shop.business_id)) == 1


def test_two_owners_changing_a_limit_at_once_log_an_unbroken_chain(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    """Both read the customer before either saves; the customer's lock makes the second wait
    and log the limit the first left, not the one its form was shown with."""
    customer = add_customer(database.admin, shop.business_id, "Grace Wanjiru", credit_limit="100")
    limits = [Decimal("200.00"), Decimal("300.00"), Decimal("400.00"), Decimal("500.00")]

    loaded = threading.Barrier(len(limits))

    def change(index: int) -> None:
        with tenant_session(app, shop.business_id) as session:
            found = get_customer(session, customer)
            assert found is not None
            session.commit()  # the form was shown; the save comes later, as its own request
            loaded.wait(timeout=60)  # every form shows 100.00 before anyone saves
            fields = customer_operations.CustomerFields(
                "Grace Wanjiru", "", "", "", credit_limit=limits[index]
            )
            customer_operations.edit_customer(session, found, fields, actor_id=shop.owner_id)

    results = at_once(len(limits), change)
    assert all(result is None for result in results), results
    chain = fetch(
        database.admin,
        "SELECT before->>'credit_limit', after->>'credit_limit' FROM activity_log"
        " WHERE customer_id = %s",
        customer,
    )
    assert len(chain) == len(limits)
    # Each line starts where another ended: one chain from 100.00 to the limit that stayed.
    final = fetch(database.admin, "SELECT credit_limit FROM customers WHERE id = %s", customer)
    starts = sorted(str(before) for before, _ in chain)
    ends = sorted(str(after) for _, after in chain)
    assert sorted([*ends, "100.00"]) == sorted([*starts, f"{final[0][0]:.2f}"])


@pytest.mark.parametrize(
    ("path", "field", "values"),
    [
        ("/customers/{id}/edit", "limit_reason", {"credit_limit": "9000"}),
        ("/products/{id}/edit", "price_reason", {"price": "99.00"}),
    ],
)
def test_a_bad_reason_is_refused_next_to_its_field_and_nothing_changes(
    owner_client: FlaskClient,
    shop: Shop,
    database: DatabaseUrls,
    path: str,
    field: str,
    values: dict[str, str],
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace Wanjiru")
    product = add_product(database.admin, shop.business_id, "Rice 5 kg")
    target = customer if path.startswith("/customers") else product
    edit = edit_customer if path.startswith("/customers") else edit_product
    for reason, message in (
        ("x" * 201, "The reason is at most 200 characters."),
        ("Raised \u202eevil", "The reason"),
    ):
        response = edit(owner_client, target, **values, **{field: reason})
        assert response.status_code == 400
        assert message in html.unescape(response.get_data(as_text=True))
    assert fetch(database.admin, "SELECT credit_limit FROM customers")[0][0] == 1000
    assert fetch(database.admin, "SELECT price FROM products")[0][0] == 10
    assert entries(database.admin, shop.business_id) == []


def test_a_clerk_editing_details_logs_nothing(
    clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace Wanjiru")
    # A clerk's request may carry a limit; it is never read, and nothing is logged.
    assert edit_customer(clerk_client, customer, credit_limit="99999").status_code == 302
    assert entries(database.admin, shop.business_id) == []


def test_a_price_change_is_logged_and_a_rename_is_not(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice 5 kg", price="1250.00")
    assert edit_product(owner_client, product, price="1250.00", sku="R5").status_code == 302
    assert entries(database.admin, shop.business_id) == []
    response = edit_product(owner_client, product, price="1300.50", price_reason="New supplier")
    assert response.status_code == 302
    assert entries(database.admin, shop.business_id) == [
        (
            "price",
            "Price of Rice 5 kg: 1,250.00 → 1,300.50",
            {"price": "1250.00"},
            {"price": "1300.50"},
            "New supplier",
            shop.owner_id,
            None,
            product,
        )
    ]


def test_a_refused_edit_logs_nothing(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    """The line is written in the change's transaction: a change refused by the database (a SKU
    another product has) rolls its line back with it."""
    add_product(database.admin, shop.business_id, "Oil", sku="OIL-1")
    product = add_product(database.admin, shop.business_id, "Rice 5 kg", price="10.00")
    response = edit_product(owner_client, product, price="12.00", sku="oil-1")
    assert response.status_code == 400
    assert fetch(database.admin, "SELECT price FROM products WHERE id = %s", product)[0][0] == 10
    assert entries(database.admin, shop.business_id) == []


def test_stock_corrections_are_logged_by_the_ledger_and_deliveries_are_not(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice 5 kg", stock=10)
    for reason, quantity, note in (
        ("delivery", "5", "invoice 7"),
        ("count_correction", "12", "shelf count"),
        ("damage", "2", "wet"),
    ):
        data = {
            "idempotency_key": form_key(owner_client, f"/products/{product}"),
            "reason": reason,
            "quantity": quantity,
            "note": note,
        }
        assert post(owner_client, f"/products/{product}/stock", **data).status_code == 302
    rows = entries(database.admin, shop.business_id)
    assert [(r[0], r[2], r[3], r[4], r[7]) for r in rows] == [
        ("stock", {"stock": 15}, {"stock": 12}, "shelf count", product),
        ("stock", {"stock": 12}, {"stock": 10}, "wet", product),
    ]


def test_staff_changes_are_logged_without_passwords(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    assert add_staff(owner_client).status_code == 302
    nia = fetch(database.admin, "SELECT id FROM users WHERE email = 'nia@alpha-store.test'")[0][0]
    assert post(owner_client, f"/staff/{nia}/role", role="owner").status_code == 302
    assert (
        post(
            owner_client, f"/staff/{nia}/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD
        ).status_code
        == 302
    )
    assert post(owner_client, f"/staff/{nia}/deactivate").status_code == 302
    assert post(owner_client, f"/staff/{nia}/reactivate").status_code == 302
    rows = [row[:4] for row in entries(database.admin, shop.business_id, "staff")]
    staff = str(nia)
    assert rows == [
        (
            "staff",
            "Nia New added as clerk (nia@alpha-store.test)",
            None,
            {
                "staff_id": staff,
                "name": "Nia New",
                "email": "nia@alpha-store.test",
                "role": "clerk",
                "active": True,
            },
        ),
        (
            "staff",
            "Nia New: clerk → owner",
            {"staff_id": staff, "role": "clerk"},
            {"staff_id": staff, "role": "owner"},
        ),
        ("staff", "New password set for Nia New", None, {"staff_id": staff}),
        (
            "staff",
            "Nia New deactivated",
            {"staff_id": staff, "active": True},
            {"staff_id": staff, "active": False},
        ),
        (
            "staff",
            "Nia New reactivated",
            {"staff_id": staff, "active": False},
            {"staff_id": staff, "active": True},
        ),
    ]
    assert {row[5] for row in entries(database.admin, shop.business_id)} == {shop.owner_id}
    hash_ = fetch(database.admin, "SELECT password_hash FROM users WHERE id = %s", nia)[0][0]
    everything = str(fetch(database.admin, "SELECT * FROM activity_log"))
    assert NEW_PASSWORD not in everything
    assert str(hash_) not in everything


def test_a_refused_staff_change_logs_nothing(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    before = entries(database.admin, shop.business_id)
    # The last owner cannot make themselves a clerk: refused, and no line.
    assert post(owner_client, f"/staff/{shop.owner_id}/role", role="clerk").status_code == 409
    assert entries(database.admin, shop.business_id) == before


def test_settings_changes_are_logged_one_line_each(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    page = owner_client.get("/settings")
    assert page.status_code == 200
    unchanged = {
        **GOOD,
        "name": "Alpha Store",
        "address": "",
        "phone": "",
        "currency": "USD",
        "timezone": "UTC",
        "credit_days": "30",
        "low_stock_threshold": "5",
        "default_credit_limit": "0.00",
        "receipt_paper": "a4",
        "api_requests_per_minute": "600",
        "clerk_correction_minutes": "30",
    }
    assert post(owner_client, "/settings", **unchanged).status_code == 302
    assert entries(database.admin, shop.business_id, "settings") == []
    changed = {
        **unchanged,
        "credit_days": "45",
        "default_credit_limit": "2500",
        "receipt_paper": "80mm",
        "owners_need_two_factor": "y",
    }
    assert post(owner_client, "/settings", **changed).status_code == 302
    rows = entries(database.admin, shop.business_id, "settings")
    assert sorted(row[1:4] for row in rows) == [
        ("Credit days: 30 → 45", {"credit_days": 30}, {"credit_days": 45}),
        (
            "Credit limit for new customers: 0.00 → 2,500.00",
            {"default_credit_limit": "0.00"},
            {"default_credit_limit": "2500.00"},
        ),
        (
            "Owners must use a second factor: off → on",
            {"owners_need_two_factor": False},
            {"owners_need_two_factor": True},
        ),
        (
            "Receipt paper: A4 sheets → 80 mm receipt roll",
            {"receipt_paper": "a4"},
            {"receipt_paper": "80mm"},
        ),
    ]
    assert {row[5] for row in rows} == {shop.owner_id}


def test_api_tokens_made_and_revoked_are_logged_without_their_value(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    made = owner_client.post("/settings/tokens", data=token_form(owner_client, "front till"))
    assert made.status_code == 201
    [plain] = TOKEN_VALUE.findall(made.get_data(as_text=True))
    token_id, token_hash = fetch(database.admin, "SELECT id, token_hash FROM api_tokens")[0]
    revoked = post(owner_client, f"/settings/tokens/{token_id}/revoke")
    assert revoked.status_code == 302
    rows = entries(database.admin, shop.business_id, "api_token")
    assert [(*row[1:4], row[5]) for row in rows] == [
        (
            "API token 'front till' made",
            None,
            {"token_id": str(token_id), "name": "front till", "created_by": str(shop.owner_id)},
            shop.owner_id,
        ),
        (
            "API token 'front till' revoked",
            {"token_id": str(token_id), "revoked": False},
            {"token_id": str(token_id), "revoked": True},
            shop.owner_id,
        ),
    ]
    everything = str(fetch(database.admin, "SELECT * FROM activity_log"))
    assert plain not in everything
    assert str(token_hash) not in everything


def test_deactivating_a_tokens_maker_logs_the_token_revoked(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE users SET role = 'owner' WHERE id = %s", (shop.clerk_id,))
    other = signed_in(app, shop.slug, shop.clerk_email)
    assert other.post("/settings/tokens", data=token_form(other, "back till")).status_code == 201
    assert post(owner_client, f"/staff/{shop.clerk_id}/deactivate").status_code == 302
    summaries = [row[1] for row in entries(database.admin, shop.business_id)]
    assert summaries[-2:] == [
        "API token 'back till' revoked: its maker Carl Clerk was deactivated",
        "Carl Clerk deactivated",
    ] or summaries[-2:] == [
        "Carl Clerk deactivated",
        "API token 'back till' revoked: its maker Carl Clerk was deactivated",
    ]


def test_admin_commands_are_logged_as_such(app: Flask, shop: Shop, database: DatabaseUrls) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--business",
            shop.slug,
            "--email",
            "ann@alpha-store.test",
            "--name",
            "Ann",
            "--role",
            "clerk",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-api-token", "--business", shop.slug, "--name", "till"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["reset-two-factor", "--business", shop.slug, "--email", shop.owner_email]
    )
    assert result.exit_code == 0, result.output
    rows = entries(database.admin, shop.business_id, admin_too=True)
    assert {row[1] for row in rows} >= {
        "Ann added as clerk (ann@alpha-store.test), by an admin command",
        "API token 'till' made, by an admin command",
        "Second factor of Olive Owner turned off, by an admin command",
    }


# --- append-only for the app -----------------------------------------------------------------


def test_the_app_role_adds_lines_but_never_changes_or_removes_one(
    owner_client: FlaskClient, shop: Shop, other_shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace Wanjiru")
    edit_customer(owner_client, customer, credit_limit="2000")
    with psycopg.connect(database.app) as conn:
        conn.execute("SELECT set_config('app.business_id', %s, false)", (str(shop.business_id),))
        assert conn.execute("SELECT count(*) FROM activity_log").fetchone() == (3,)
        conn.commit()
        for statement in (
            "UPDATE activity_log SET summary = 'nothing happened'",
            "UPDATE activity_log SET reason = 'x' WHERE kind = 'credit_limit'",
            "DELETE FROM activity_log",
            "DELETE FROM activity_log WHERE kind = 'credit_limit'",
            "TRUNCATE activity_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
        # Adding a line is allowed, for its own business only (row-level security).
        conn.execute(
            "INSERT INTO activity_log (business_id, kind, summary) VALUES (%s, 'settings', 'x')",
            (shop.business_id,),
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO activity_log (business_id, kind, summary) "
                "VALUES (%s, 'settings', 'x')",
                (other_shop.business_id,),
            )
        conn.rollback()
    summaries = [row[1] for row in entries(database.admin, shop.business_id, "credit_limit")]
    assert summaries == ["Credit limit of Grace Wanjiru: 1,000.00 → 2,000.00"]


# --- the pages -------------------------------------------------------------------------------


def _history(owner_client: FlaskClient, shop: Shop, database: DatabaseUrls) -> dict[str, Any]:
    """A credit-limit change for two customers, a price change, a stock count and a clerk's
    new role, by the owner; then (signed in again) nothing else."""
    grace = add_customer(database.admin, shop.business_id, "Grace Wanjiru", phone="0711 222333")
    juma = add_customer(database.admin, shop.business_id, "Juma Otieno")
    rice = add_product(database.admin, shop.business_id, "Rice 5 kg", stock=10)
    assert (
        edit_customer(owner_client, grace, phone="0711 222333", credit_limit="5000").status_code
        == 302
    )
    assert (
        edit_customer(owner_client, juma, name="Juma Otieno", credit_limit="300").status_code == 302
    )
    assert edit_product(owner_client, rice, price="12.00").status_code == 302
    data = {
        "idempotency_key": form_key(owner_client, f"/products/{rice}"),
        "reason": "count_correction",
        "quantity": "9",
        "note": "=HYPERLINK(1)",
    }
    assert post(owner_client, f"/products/{rice}/stock", **data).status_code == 302
    return {"grace": grace, "juma": juma, "rice": rice}


def test_owners_see_the_log_newest_first(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    _history(owner_client, shop, database)
    page = owner_client.get("/activity")
    assert page.status_code == 200
    words = text_of(page)
    assert "6 lines." in words  # with the two staff make_shop's admin command added
    order = [
        words.index("Stock of Rice 5 kg: count correction"),
        words.index("Price of Rice 5 kg: 10.00 → 12.00"),
        words.index("Credit limit of Juma Otieno: 1,000.00 → 300.00"),
        words.index("Credit limit of Grace Wanjiru: 1,000.00 → 5,000.00"),
    ]
    assert order == sorted(order)
    assert "stock 10 → 9" in words  # the ledger's figures, under its summary
    assert "Olive Owner" in words
    assert 'href="/activity"' in owner_client.get("/").get_data(as_text=True)  # in the menu


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=credit_limit", {"Grace", "Juma"}),
        ("kind=price", {"Price"}),
        ("kind=stock", {"Stock"}),
        ("kind=nonsense", {"Grace", "Juma", "Price", "Stock", "Carl"}),
        ("q=0711", {"Grace"}),
        ("q=juma", {"Juma"}),
        ("date_from=2000-01-01&date_to=2000-12-31", set()),
        ("date_from=2000-01-01", {"Grace", "Juma", "Price", "Stock", "Carl"}),
    ],
)
def test_the_log_is_filtered(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls, query: str, expected: set[str]
) -> None:
    _history(owner_client, shop, database)
    words = text_of(owner_client.get(f"/activity?{query}"))
    shown = {
        name
        for name, summary in (
            ("Grace", "Credit limit of Grace Wanjiru"),
            ("Juma", "Credit limit of Juma Otieno"),
            ("Price", "Price of Rice 5 kg"),
            ("Stock", "Stock of Rice 5 kg"),
            ("Carl", "Carl Clerk added as clerk"),
        )
        if summary in words
    }
    assert shown == expected


def test_the_log_is_filtered_by_person_customer_and_product(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    made = _history(owner_client, shop, database)
    # The owner's lines, not the admin command's.
    words = text_of(owner_client.get(f"/activity?person={shop.owner_id}"))
    assert "4 lines." in words and "Carl Clerk added" not in words
    assert "1 line." in text_of(owner_client.get(f"/activity?customer={made['grace']}"))
    words = text_of(owner_client.get(f"/activity?product={made['rice']}"))
    assert "2 lines." in words and "Only the lines about Rice 5 kg." in words
    assert "0 lines." in text_of(owner_client.get(f"/activity?person={shop.clerk_id}"))
    assert "Nothing was logged with these filters." in text_of(
        owner_client.get(f"/activity?person={shop.clerk_id}")
    )


def test_the_log_comes_in_pages(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace Wanjiru")
    for limit in range(1, 53):
        assert edit_customer(owner_client, customer, credit_limit=str(limit)).status_code == 302
    first = owner_client.get("/activity?kind=credit_limit").get_data(as_text=True)
    assert "52 lines." in text_of(owner_client.get("/activity?kind=credit_limit"))
    assert first.count("Credit limit of Grace Wanjiru") == 50
    assert "51.00 → 52.00" in first  # the newest on the first page
    assert 'href="/activity?kind=credit_limit&amp;page=2"' in first
    second = owner_client.get("/activity?kind=credit_limit&page=2").get_data(as_text=True)
    assert second.count("Credit limit of Grace Wanjiru") == 2
    assert "1,000.00 → 1.00" in html.unescape(second)


def test_the_csv_is_the_filtered_list(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    _history(owner_client, shop, database)
    response = owner_client.get("/activity.csv?kind=stock")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "When",
        "Kind",
        "Who",
        "What",
        "Reason",
        "Customer",
        "Product",
        "Before",
        "After",
    ]
    assert len(rows) == 2
    when, kind, who, what, reason, customer, product, before, after = rows[1]
    assert (kind, who, what, customer, product) == (
        "Stock correction",
        "Olive Owner",
        "Stock of Rice 5 kg: count correction",
        "",
        "Rice 5 kg",
    )
    assert reason == "'=HYPERLINK(1)"  # a spreadsheet would run it: neutralised
    assert json.loads(before) == {"stock": 10} and json.loads(after) == {"stock": 9}
    assert when.startswith("20") and when.endswith("+00:00")  # ISO, in the shop's timezone
    everything = list(
        csv.reader(io.StringIO(owner_client.get("/activity.csv").get_data(as_text=True)))
    )
    assert len(everything) == 1 + 6


def test_the_customers_and_products_pages_show_their_own_lines(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    made = _history(owner_client, shop, database)
    words = text_of(owner_client.get(f"/customers/{made['grace']}"))
    assert "Credit limit of Grace Wanjiru: 1,000.00 → 5,000.00" in words
    assert "Juma" not in words
    page = owner_client.get(f"/customers/{made['grace']}").get_data(as_text=True)
    assert f'href="/activity?customer={made["grace"]}"' in page
    words = text_of(owner_client.get(f"/products/{made['rice']}"))
    assert "Price of Rice 5 kg: 10.00 → 12.00" in words
    assert "Stock of Rice 5 kg: count correction" in words
    assert "Credit limit" not in words
    page = owner_client.get(f"/products/{made['rice']}").get_data(as_text=True)
    assert f'href="/activity?product={made["rice"]}"' in page


def test_a_clerk_gets_403_and_sees_no_activity(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    made = _history(owner_client, shop, database)
    clerk = signed_in(app, shop.slug, shop.clerk_email)
    for path in ("/activity", "/activity.csv", f"/activity?customer={made['grace']}"):
        response = clerk.get(path)
        assert response.status_code == 403
        assert "Not allowed" in response.get_data(as_text=True)
    assert 'href="/activity"' not in clerk.get("/").get_data(as_text=True)
    for path in (f"/customers/{made['grace']}", f"/products/{made['rice']}"):
        words = text_of(clerk.get(path))
        assert "Credit limit of" not in words and "Price of" not in words
        assert "/activity" not in clerk.get(path).get_data(as_text=True)


def test_another_shops_lines_are_never_shown(
    app: Flask, owner_client: FlaskClient, shop: Shop, other_shop: Shop, database: DatabaseUrls
) -> None:
    made = _history(owner_client, shop, database)
    theirs = signed_in(app, other_shop.slug, other_shop.owner_email)
    for path in (
        "/activity",
        "/activity.csv",
        f"/activity?customer={made['grace']}",
        f"/activity?product={made['rice']}",
        f"/activity?person={shop.owner_id}",
    ):
        response = theirs.get(path)
        assert response.status_code == 200
        body = html.unescape(response.get_data(as_text=True))
        for ours in ("Grace", "Juma", "Rice", "alpha-store"):
            assert ours not in body, (path, ours)
    # Their own lines are there (the admin command that made their staff).
    assert "Carl Clerk added as clerk" in text_of(theirs.get("/activity"))
