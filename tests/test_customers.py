"""The customer pages: list, search, sort, pages; adding and editing; credit limits (owners
only); opening balances; archiving; and another business's customers staying out of reach."""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import DBAPIError
from werkzeug.test import TestResponse

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    at_once,
    csrf_token,
    fetch,
    ledger_violations,
    login,
    pay,
    sell,
    tenant_session,
)
from webapp import ledger
from webapp.auth.access import owner_required
from webapp.embedded import DatabaseUrls

KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')
ROW_NAMES = re.compile(r'<td><a href="/customers/[0-9a-f-]+">([^<]+)</a>')
# The customers blueprint's owner-only endpoints (checked against the app below).
OWNER_ONLY = ("customers.archive", "customers.unarchive", "customers.export", "customers.erase")


def _text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def _plain(response: TestResponse) -> str:
    """The page's words without markup, as a reader sees them."""
    words = " ".join(re.sub(r"<[^>]+>", " ", _text(response)).split())
    return re.sub(r" (?=[,.])", "", words)


def _names(response: TestResponse) -> list[str]:
    return [html.unescape(name) for name in ROW_NAMES.findall(response.get_data(as_text=True))]


def _new_form(client: FlaskClient) -> tuple[str, str]:
    """The CSRF token and idempotency key of a freshly rendered new-customer form."""
    page = client.get("/customers/new").get_data(as_text=True)
    match = KEY.search(page)
    assert match, page
    return csrf_token(client, "/customers/new"), match.group(1)


def _create(client: FlaskClient, **fields: str) -> TestResponse:
    token, key = _new_form(client)
    return client.post(
        "/customers/new", data={"csrf_token": token, "idempotency_key": key, **fields}
    )


def _edit(client: FlaskClient, customer: uuid.UUID, **fields: str) -> TestResponse:
    token = csrf_token(client, f"/customers/{customer}/edit")
    data = {"name": "Ada Customer", "phone": "", "email": "", "notes": "", **fields}
    return client.post(f"/customers/{customer}/edit", data={"csrf_token": token, **data})


def _post(client: FlaskClient, path: str) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf_token(client, "/customers/new")})


def _customers(admin_url: str) -> list[tuple[object, ...]]:
    return fetch(
        admin_url,
        "SELECT name, phone, email, notes, credit_limit, balance, is_archived FROM customers"
        " ORDER BY name",
    )


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_credit_figures_and_hides_archived_customers(
    app: Flask, clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    grace = add_customer(
        database.admin, shop.business_id, "Grace Mensah", phone="+254700111222", credit_limit="500"
    )
    add_customer(database.admin, shop.business_id, "Hassan Otieno", credit_limit="0")
    add_customer(database.admin, shop.business_id, "Archie Archived", archived=True)
    sell(app, shop, grace, add_product(database.admin, shop.business_id, price="12.50"), 10)

    response = clerk_client.get("/customers")
    assert response.status_code == 200
    page = _text(response)
    assert _names(response) == ["Grace Mensah", "Hassan Otieno"]
    for expected in ("+254700111222", "$125.00", "$500.00", "$375.00", "Add a customer"):
        assert expected in page, expected
    assert "2 customers, owing together $125.00" in _plain(response)
    assert 'href="/customers/new"' in page

    shown = clerk_client.get("/customers?archived=y")
    assert _names(shown) == ["Archie Archived", "Grace Mensah", "Hassan Otieno"]
    assert "(archived)" in _text(shown)


def test_search_by_name_or_phone(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    add_customer(database.admin, shop.business_id, "Grace Mensah", phone="+254700111222")
    add_customer(database.admin, shop.business_id, "Hassan Otieno", phone="+254799000000")
    add_customer(database.admin, shop.business_id, "Gracie Gone", archived=True)

    assert _names(clerk_client.get("/customers?q=grace")) == ["Grace Mensah"]
    assert _names(clerk_client.get("/customers?q=grac")) == ["Grace Mensah"]
    assert _names(clerk_client.get("/customers?q=grac&archived=y")) == [
        "Grace Mensah",
        "Gracie Gone",
    ]
    assert _names(clerk_client.get("/customers?q=799")) == ["Hassan Otieno"]
    none = clerk_client.get("/customers?q=%25")  # a literal %, not "anything"
    assert _names(none) == []
    assert "No customer matches “%”" in _text(none)


def test_sort_by_name_or_balance_both_ways(
    app: Flask, clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, price="1.00")
    for name, bought in (("bella", 5), ("Amir", 30), ("Chen", 0), ("Dora", 12)):
        customer = add_customer(database.admin, shop.business_id, name)
        if bought:
            sell(app, shop, customer, product, bought)

    assert _names(clerk_client.get("/customers")) == ["Amir", "bella", "Chen", "Dora"]
    assert _names(clerk_client.get("/customers?sort=name_desc")) == [
        "Dora",
        "Chen",
        "bella",
        "Amir",
    ]
    assert _names(clerk_client.get("/customers?sort=balance_desc")) == [
        "Amir",
        "Dora",
        "bella",
        "Chen",
    ]
    assert _names(clerk_client.get("/customers?sort=balance")) == ["Chen", "bella", "Dora", "Amir"]
    # Something the form does not offer sorts by name rather than failing.
    odd = clerk_client.get("/customers?sort=balance;DROP TABLE customers")
    assert odd.status_code == 200
    assert _names(odd) == ["Amir", "bella", "Chen", "Dora"]
    # The headings sort by their column, and a second click turns the order round.
    page = clerk_client.get("/customers?q=a&sort=name").get_data(as_text=True)
    assert 'href="/customers?q=a&amp;sort=name_desc">Name</a>' in page
    assert 'href="/customers?q=a&amp;sort=balance_desc">Balance</a>' in page


def test_the_list_comes_in_pages(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    fetch(
        database.admin,
        "INSERT INTO customers (business_id, name) "
        "SELECT %s, format('Customer %%s', lpad(n::text, 3, '0')) FROM generate_series(1, 55) n "
        "RETURNING id",
        shop.business_id,
    )
    first = clerk_client.get("/customers?q=Customer")
    names = _names(first)
    assert names == [f"Customer {n:03}" for n in range(1, 51)]
    assert "55 customers" in _plain(first)
    assert 'href="/customers?q=Customer&amp;page=2"' in first.get_data(as_text=True)

    second = clerk_client.get("/customers?q=Customer&page=2")
    assert _names(second) == [f"Customer {n:03}" for n in range(51, 56)]
    assert 'rel="next"' not in second.get_data(as_text=True)
    assert 'href="/customers?q=Customer&amp;page=1"' in second.get_data(as_text=True)


# --- adding and editing ---------------------------------------------------------------------


def test_an_owner_adds_a_customer_with_a_credit_limit(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    page = owner_client.get("/customers/new").get_data(as_text=True)
    assert 'name="credit_limit"' in page and 'name="opening_balance"' in page

    response = _create(
        owner_client,
        name=" Grace Mensah ",
        phone="+254700111222",
        email="grace@example.com",
        notes="Pays on Fridays",
        credit_limit="1,500.50",
    )

    assert response.status_code == 302
    customer_id = fetch(database.admin, "SELECT id FROM customers")[0][0]
    assert response.headers["Location"] == f"/customers/{customer_id}"
    assert _customers(database.admin) == [
        (
            "Grace Mensah",
            "+254700111222",
            "grace@example.com",
            "Pays on Fridays",
            Decimal("1500.50"),
            Decimal("0.00"),
            False,
        )
    ]
    detail = _text(owner_client.get(response.headers["Location"]))
    assert "Grace Mensah was added." in detail
    assert "$1,500.50" in detail


def test_a_clerk_cannot_set_a_credit_limit_and_new_customers_get_no_credit(
    clerk_client: FlaskClient, database: DatabaseUrls
) -> None:
    page = _text(clerk_client.get("/customers/new"))
    assert 'name="credit_limit"' not in page and 'name="opening_balance"' not in page
    assert "New customers get no credit (a credit limit of $0.00)" in page

    response = _create(clerk_client, name="Hassan", credit_limit="5000", opening_balance="300")

    assert response.status_code == 302
    assert _customers(database.admin) == [
        ("Hassan", "", "", "", Decimal("0.00"), Decimal("0.00"), False)
    ]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


def test_a_clerk_edits_details_but_not_the_credit_limit(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="100.00")
    page = clerk_client.get(f"/customers/{customer}/edit")
    assert 'name="credit_limit"' not in page.get_data(as_text=True)
    assert "Credit limit: $100.00. Only the shop's owner can change it." in _plain(page)

    response = _edit(clerk_client, customer, name="Ada Lovelace", phone="0700", credit_limit="9999")

    assert response.status_code == 302
    assert _customers(database.admin) == [
        ("Ada Lovelace", "0700", "", "", Decimal("100.00"), Decimal("0.00"), False)
    ]


def test_an_owner_edits_details_and_the_credit_limit(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="100.00")
    page = owner_client.get(f"/customers/{customer}/edit").get_data(as_text=True)
    assert 'name="credit_limit" type="text" value="100.00"' in page
    assert 'name="opening_balance"' not in page  # only when adding a customer
    assert 'name="idempotency_key"' not in page

    response = _edit(
        owner_client, customer, phone="0711", email="ada@example.com", credit_limit="250"
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/customers/{customer}"
    assert _customers(database.admin) == [
        ("Ada Customer", "0711", "ada@example.com", "", Decimal("250.00"), Decimal("0.00"), False)
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "  "}, "name", "Enter the customer's name."),
        ({"name": "x" * 121}, "name", "The name is at most 120 characters."),
        ({"email": "not-an-email"}, "email", "That is not an email address."),
        ({"phone": "1" * 41}, "phone", "The phone number is at most 40 characters."),
        ({"credit_limit": "-5"}, "credit_limit", "The credit limit cannot be negative."),
        ({"credit_limit": "lots"}, "credit_limit", "The credit limit must be an amount"),
        ({"credit_limit": "1.234"}, "credit_limit", "The credit limit has at most 2 decimals."),
        # A decimal comma would otherwise be read as thousands: 12,50 as 1250.
        ({"credit_limit": "12,50"}, "credit_limit", "Write the credit limit with a point"),
        ({"opening_balance": "-1"}, "opening_balance", "The opening balance cannot be negative."),
    ],
)
def test_bad_details_are_explained_next_to_the_field_and_nothing_is_saved(
    owner_client: FlaskClient,
    database: DatabaseUrls,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = _create(owner_client, **{"name": "Grace", "credit_limit": "100", **fields})
    assert response.status_code == 400
    page = _text(response)
    assert f'<small class="error" id="{field}-error">{message}' in page
    assert f'id="{field}"' in page and 'aria-invalid="true"' in page
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(0,)]


def test_bad_details_on_edit_change_nothing(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="100.00")
    response = _edit(owner_client, customer, name="", phone="0700", credit_limit="-1")
    assert response.status_code == 400
    page = _text(response)
    assert "Enter the customer's name." in page
    assert "The credit limit cannot be negative." in page
    assert _customers(database.admin) == [
        ("Ada Customer", "", "", "", Decimal("100.00"), Decimal("0.00"), False)
    ]


def test_an_opening_balance_within_the_limit_is_owed_from_today(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    response = _create(owner_client, name="Grace", credit_limit="500", opening_balance="120.50")
    assert response.status_code == 302
    assert fetch(database.admin, "SELECT credit_limit, balance FROM customers") == [
        (Decimal("500.00"), Decimal("120.50"))
    ]
    assert fetch(database.admin, "SELECT total, paid, is_opening_balance FROM orders") == [
        (Decimal("120.50"), Decimal("0.00"), True)
    ]
    assert "$379.50" in _text(owner_client.get(response.headers["Location"]))  # available
    assert ledger_violations(database.admin) == []


def test_the_ledger_takes_one_opening_balance_per_customer_however_the_id_is_written(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    """Two entries for one customer would each fit the limit alone and leave the balance
    short of the orders; the id in capitals is still the same customer."""
    grace = add_customer(database.admin, shop.business_id, "Grace", credit_limit="100")
    entries = json.dumps(
        [
            {"customer_id": str(grace), "amount": "60"},
            {"customer_id": str(grace).upper(), "amount": "60"},
        ]
    )
    with tenant_session(app, shop.business_id) as session, pytest.raises(DBAPIError) as refused:
        session.execute(
            ledger.OPENING_BALANCES,
            {"business_id": shop.business_id, "entries": entries, "user_id": shop.owner_id},
        )
    assert refused.value.orig.sqlstate == "SC004"  # type: ignore[union-attr]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]
    assert ledger_violations(database.admin) == []


def test_an_opening_balance_above_the_limit_is_refused_and_nothing_written(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    token, key = _new_form(owner_client)
    data = {
        "csrf_token": token,
        "idempotency_key": key,
        "name": "Grace",
        "credit_limit": "100",
        "opening_balance": "150",
    }
    response = owner_client.post("/customers/new", data=data)

    assert response.status_code == 409
    page = _text(response)
    assert "The opening balance is more than the credit limit allows ($100.00)" in page
    assert 'value="150"' in page and key in page  # what was entered is kept
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(0,)]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]

    # Corrected and sent with the same key, it is saved once.
    fixed = owner_client.post("/customers/new", data={**data, "credit_limit": "150"})
    assert fixed.status_code == 302
    assert fetch(database.admin, "SELECT idempotency_key, balance FROM customers") == [
        (uuid.UUID(key), Decimal("150.00"))
    ]
    assert ledger_violations(database.admin) == []


def test_a_form_sent_twice_adds_one_customer(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    token, key = _new_form(owner_client)
    data = {
        "csrf_token": token,
        "idempotency_key": key,
        "name": "Grace",
        "credit_limit": "100",
        "opening_balance": "40",
    }
    first = owner_client.post("/customers/new", data=data)
    second = owner_client.post("/customers/new", data=data)

    assert first.status_code == second.status_code == 302
    [(made,)] = fetch(database.admin, "SELECT id FROM customers WHERE idempotency_key = %s", key)
    assert first.headers["Location"] == second.headers["Location"] == f"/customers/{made}"
    assert fetch(database.admin, "SELECT count(*), sum(balance) FROM customers") == [
        (1, Decimal("40.00"))
    ]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(1,)]
    assert "This customer was saved already" in _text(owner_client.get(second.headers["Location"]))


def test_a_form_sent_twice_at_once_adds_one_customer(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    clients = [app.test_client() for _ in range(2)]
    for client in clients:
        login(client, shop.slug, shop.owner_email)
    key = str(uuid.uuid4())
    tokens = [csrf_token(client, "/customers/new") for client in clients]

    def submit(index: int) -> TestResponse:
        data = {
            "csrf_token": tokens[index],
            "idempotency_key": key,
            "name": "Grace",
            "credit_limit": "100",
            "opening_balance": "40",
        }
        return clients[index].post("/customers/new", data=data)

    results = at_once(2, submit)

    for result in results:
        assert isinstance(result, TestResponse), result
        assert result.status_code == 302
    [(made,)] = fetch(database.admin, "SELECT id FROM customers WHERE idempotency_key = %s", key)
    for result in results:
        assert result.headers["Location"] == f"/customers/{made}"
    assert fetch(database.admin, "SELECT count(*), sum(balance) FROM customers") == [
        (1, Decimal("40.00"))
    ]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(1,)]
    assert ledger_violations(database.admin) == []


def test_a_create_racing_the_same_key_lands_on_the_customer_made(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    """The key's unique index settles a race: the form's insert waits for the other
    transaction's row with the same key, fails on the index once that commits, and shows that
    customer (made, as far as the form can tell, by the same request: no fingerprint)."""
    token, key = _new_form(owner_client)
    data = {"csrf_token": token, "idempotency_key": key, "name": "Grace", "credit_limit": "100"}
    waiting = "SELECT count(*) FROM pg_locks WHERE %s = ANY(pg_blocking_pids(pid))"
    with psycopg.connect(database.admin) as other:
        other.execute(
            "INSERT INTO customers (business_id, name, idempotency_key) VALUES (%s, 'Grace', %s)",
            (shop.business_id, key),
        )
        with ThreadPoolExecutor(max_workers=1) as pool:
            sent = pool.submit(owner_client.post, "/customers/new", data=data)
            for _ in range(600):  # until the form's insert waits on the row (or it is done)
                if sent.done() or fetch(database.admin, waiting, other.info.backend_pid)[0][0]:
                    break
                time.sleep(0.05)
            other.commit()
            response = sent.result(timeout=60)

    [(made,)] = fetch(database.admin, "SELECT id FROM customers")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/customers/{made}"


def test_a_limit_below_the_balance_is_allowed_and_the_customer_cannot_buy(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="500.00")
    product = add_product(database.admin, shop.business_id, price="100.00")
    sell(app, shop, customer, product, 3)

    response = _edit(owner_client, customer, credit_limit="100")

    assert response.status_code == 302
    assert fetch(database.admin, "SELECT credit_limit, balance FROM customers") == [
        (Decimal("100.00"), Decimal("300.00"))
    ]
    warning = (
        "Ada Customer owes $300.00, more than the credit limit of $100.00, and cannot buy on"
        " credit until they pay at least $200.00."
    )
    assert warning in _text(owner_client.get(f"/customers/{customer}"))
    assert warning in _text(owner_client.get(f"/customers/{customer}/edit"))
    with pytest.raises(ledger.CreditLimitExceeded):
        sell(app, shop, customer, product, 1)
    pay(app, shop, customer, Decimal("250.00"))
    assert "more than the credit limit" not in _text(owner_client.get(f"/customers/{customer}"))
    assert ledger_violations(database.admin) == []


# --- archiving --------------------------------------------------------------------------------


def test_an_archived_customer_cannot_buy_but_can_pay(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace Mensah")
    product = add_product(database.admin, shop.business_id, price="10.00")
    sell(app, shop, customer, product, 5)

    response = _post(owner_client, f"/customers/{customer}/archive")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/customers/{customer}"
    assert fetch(database.admin, "SELECT is_archived FROM customers") == [(True,)]
    detail = _text(owner_client.get(f"/customers/{customer}"))
    assert "Grace Mensah is archived" in detail and "Unarchive" in detail
    assert "Record sale" not in detail and "Take payment" in detail
    assert _names(owner_client.get("/customers")) == []
    assert "Grace Mensah" not in _text(owner_client.get("/sales/new?q=Grace"))
    assert owner_client.get(f"/sales/new?customer={customer}").status_code == 404

    with pytest.raises(ledger.CustomerArchived):
        sell(app, shop, customer, product, 1)
    assert pay(app, shop, customer, Decimal("20.00")).balance_after == Decimal("30.00")

    assert _post(owner_client, f"/customers/{customer}/unarchive").status_code == 302
    assert fetch(database.admin, "SELECT is_archived FROM customers") == [(False,)]
    sell(app, shop, customer, product, 1)
    assert fetch(database.admin, "SELECT balance FROM customers") == [(Decimal("40.00"),)]
    assert ledger_violations(database.admin) == []


def test_owner_only_endpoints_are_the_ones_tested(app: Flask) -> None:
    guarded = owner_required(lambda: None).__code__
    gated = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint.startswith("customers.") and view.__code__ is guarded
    }
    assert gated == set(OWNER_ONLY)


@pytest.mark.parametrize("endpoint", OWNER_ONLY)
def test_a_clerk_is_refused_owner_only_actions(
    app: Flask, clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop, endpoint: str
) -> None:
    customer = add_customer(database.admin, shop.business_id, archived=endpoint.endswith("unarch"))
    before = _customers(database.admin)
    with app.test_request_context():
        from flask import url_for

        path = url_for(endpoint, customer_id=customer)
    reading = endpoint == "customers.export"  # a download, not a change
    assert (clerk_client.get(path) if reading else _post(clerk_client, path)).status_code == 403
    assert _customers(database.admin) == before
    detail = clerk_client.get(f"/customers/{customer}").get_data(as_text=True)
    assert "/archive" not in detail and "/unarchive" not in detail


# --- another business -----------------------------------------------------------------------

CUSTOMER_ROUTES = [
    ("GET", "customers.detail"),
    ("GET", "customers.statement"),
    ("GET", "customers.edit"),
    ("POST", "customers.edit"),
    ("POST", "customers.archive"),
    ("POST", "customers.unarchive"),
    ("GET", "customers.export"),
    ("POST", "customers.erase"),
]


def test_every_route_naming_a_customer_is_tested(app: Flask) -> None:
    named = {
        (method, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("customers.") and "customer_id" in rule.arguments
        for method in rule.methods or ()
        if method in ("GET", "POST")
    }
    assert named == set(CUSTOMER_ROUTES)


@pytest.mark.parametrize(("method", "endpoint"), CUSTOMER_ROUTES)
def test_another_business_customer_is_not_found(
    app: Flask,
    owner_client: FlaskClient,
    database: DatabaseUrls,
    other_shop: Shop,
    method: str,
    endpoint: str,
) -> None:
    foreign = add_customer(database.admin, other_shop.business_id, "Not Yours", phone="0700")
    before = _customers(database.admin)
    with app.test_request_context():
        from flask import url_for

        path = url_for(endpoint, customer_id=foreign)
        missing = url_for(endpoint, customer_id=uuid.uuid4())
    for target in (path, missing):
        if method == "GET":
            response = owner_client.get(target)
        else:
            token = csrf_token(owner_client, "/customers/new")
            data = {"csrf_token": token, "name": "Taken Over", "credit_limit": "9999"}
            response = owner_client.post(target, data=data)
        assert response.status_code == 404, target
        assert "Not Yours" not in response.get_data(as_text=True)
    assert _customers(database.admin) == before
    assert _names(owner_client.get("/customers?q=Not&archived=y")) == []


def test_a_customer_added_from_the_sale_form_goes_back_to_it_chosen(
    clerk_client: FlaskClient, database: DatabaseUrls
) -> None:
    page = clerk_client.get("/customers/new?then=sale").get_data(as_text=True)
    assert 'action="/customers/new?then=sale"' in page
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page)
    assert key
    response = clerk_client.post(
        "/customers/new?then=sale",
        data={
            "csrf_token": csrf_token(clerk_client, "/customers/new"),
            "idempotency_key": key.group(1),
            "name": "Walk-in Wanjiru",
        },
    )
    [(customer,)] = fetch(database.admin, "SELECT id FROM customers")
    assert response.headers["Location"] == f"/sales/new?customer={customer}"
    # Anything else than the one word is ignored: never a way to send someone elsewhere.
    assert 'action="/customers/new"' in clerk_client.get(
        "/customers/new?then=https://evil.example"
    ).get_data(as_text=True)


def test_an_owner_exports_a_customers_data_and_erases_it_once_they_owe_nothing(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(
        database.admin, shop.business_id, "Grace Mensah", phone="+254700111222", credit_limit="100"
    )
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00")
    sale = sell(app, shop, customer, rice, 2)

    exported = owner_client.get(f"/customers/{customer}/export.json")
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    assert "attachment" in exported.headers["Content-Disposition"]
    data = exported.get_json()
    assert data["customer"]["name"] == "Grace Mensah" and data["customer"]["balance"] == "20.00"
    assert [s["id"] for s in data["sales"]] == [str(sale)]
    assert data["sales"][0]["lines"] == [{"product": "Rice", "quantity": 2, "unit_price": 10.0}]

    token = csrf_token(owner_client, f"/customers/{customer}")
    refused = owner_client.post(f"/customers/{customer}/erase", data={"csrf_token": token})
    assert "still owes $20.00" in _text(owner_client.get(refused.headers["Location"]))
    assert fetch(database.admin, "SELECT name FROM customers") == [("Grace Mensah",)]

    pay(app, shop, customer, "20.00")
    erased = owner_client.post(f"/customers/{customer}/erase", data={"csrf_token": token})
    page = _text(owner_client.get(erased.headers["Location"]))
    assert "Personal details erased" in page and "Grace" not in page
    assert fetch(
        database.admin, "SELECT name, phone, email, notes, is_archived, balance FROM customers"
    ) == [("Erased customer", "", "", "", True, Decimal("0.00"))]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(1,)]  # the ledger stays
    assert ledger_violations(database.admin) == []
    assert owner_client.get(f"/customers/{customer}/edit").status_code == 302


def test_a_clerk_cannot_export_or_erase(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace")
    assert clerk_client.get(f"/customers/{customer}/export.json").status_code == 403
    token = csrf_token(clerk_client, f"/customers/{customer}")
    erase = clerk_client.post(f"/customers/{customer}/erase", data={"csrf_token": token})
    assert erase.status_code == 403
    assert fetch(database.admin, "SELECT name FROM customers") == [("Grace",)]
