"""Overdue customers and aging, against a hand-computed fixture on a real PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
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
    fetch,
    ledger_violations,
    pay,
    redate_sale,
    sell,
    tenant_session,
)
from webapp import reports
from webapp.embedded import DatabaseUrls

D = Decimal


def _sale(
    app: Flask,
    database: DatabaseUrls,
    shop: Shop,
    customer: uuid.UUID,
    product: uuid.UUID,
    total: int,
    due_in_days: int,
) -> uuid.UUID:
    """A sale of `total` (at 1.00 a unit) due `due_in_days` from today (negative: past)."""
    order = sell(app, shop, customer, product, total)
    redate_sale(database.admin, order, due_in_days, created_days_ago=30 - due_in_days)
    return order


def _pay(
    app: Flask,
    database: DatabaseUrls,
    shop: Shop,
    customer: uuid.UUID,
    amount: str,
    days_ago: int,
    order: uuid.UUID | None = None,
) -> None:
    receipt = pay(app, shop, customer, D(amount), order=order)
    with psycopg.connect(database.admin) as conn:
        conn.execute(
            "UPDATE payments SET created_at = now() - %s * interval '1 day' WHERE id = %s",
            (days_ago, receipt.payment_id),
        )
        # Dated back outside the ledger functions: the reports' collections follow the day.
        conn.execute("SELECT rebuild_report_rollups(%s)", (shop.business_id,))


@pytest.fixture
def book(app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop) -> dict[str, uuid.UUID]:
    """The shop's credit book, worked out by hand:

    Ann   sales of 100 due 45 days ago and 50 due 10 days ago; paid 30, 20 days ago (to the
          oldest) → owes 70 (31–60) + 50 (1–30) = 120, overdue since 45 days.
    Ben   a sale of 40 due 100 days ago, fully paid; a sale of 25 due in 20 days → not listed.
    Cat   only a recent sale of 60, due in 5 days → not listed.
    Dan   sales of 80 due 95 days ago and 20 due 65 days ago; 20 aimed at the second, then 30
          and 10 aimed at the first (two payments on one sale), 5 days ago → owes 40 (over 90).
    Eve   another business's customer, long overdue → never listed here.
    """
    p = add_product(database.admin, shop.business_id, "Unit", price="1.00", stock=10_000)
    ids = {
        name: add_customer(database.admin, shop.business_id, name, credit_limit="1000",
                           phone=phone)
        for name, phone in (("Ann", "+254 700 000 001"), ("Ben", ""), ("Cat", ""),
                            ("Dan", "0700-000-004"))
    }  # fmt: skip
    a1 = _sale(app, database, shop, ids["Ann"], p, 100, -45)
    _sale(app, database, shop, ids["Ann"], p, 50, -10)
    _pay(app, database, shop, ids["Ann"], "30", 20)
    b1 = _sale(app, database, shop, ids["Ben"], p, 40, -100)
    _pay(app, database, shop, ids["Ben"], "40", 90, order=b1)
    _sale(app, database, shop, ids["Ben"], p, 25, 20)
    _sale(app, database, shop, ids["Cat"], p, 60, 5)
    d1 = _sale(app, database, shop, ids["Dan"], p, 80, -95)
    d2 = _sale(app, database, shop, ids["Dan"], p, 20, -65)
    _pay(app, database, shop, ids["Dan"], "20", 30, order=d2)
    _pay(app, database, shop, ids["Dan"], "30", 6, order=d1)
    _pay(app, database, shop, ids["Dan"], "10", 5, order=d1)

    their_product = add_product(database.admin, other_shop.business_id, "Theirs", price="1.00")
    eve = add_customer(database.admin, other_shop.business_id, "Eve", credit_limit="500")
    _sale(app, database, other_shop, eve, their_product, 99, -200)
    assert a1
    return ids


def _report(app: Flask, shop: Shop, **kwargs: object) -> reports.OverdueReport:
    with tenant_session(app, shop.business_id) as session:
        return reports.overdue(session, **kwargs)  # type: ignore[arg-type]


def test_the_hand_computed_list(app: Flask, shop: Shop, book: dict[str, uuid.UUID]) -> None:
    today = date.today()
    report = _report(app, shop)
    assert report.as_of == today
    rows = [
        (c.name, c.balance, c.overdue_amount, c.oldest_due_on, c.days_overdue, c.last_payment_on,
         c.aging)
        for c in report.customers
    ]  # fmt: skip
    assert rows == [
        ("Dan", D("40.00"), D("40.00"), today - timedelta(days=95), 95,
         today - timedelta(days=5),
         {"not_due": D("0"), "1_30": D("0"), "31_60": D("0"), "61_90": D("0"),
          "over_90": D("40.00")}),
        ("Ann", D("120.00"), D("120.00"), today - timedelta(days=45), 45,
         today - timedelta(days=20),
         {"not_due": D("0"), "1_30": D("50.00"), "31_60": D("70.00"), "61_90": D("0"),
          "over_90": D("0")}),
    ]  # fmt: skip
    assert (report.count, report.balance, report.overdue_amount) == (2, D("160.00"), D("160.00"))
    assert report.aging == {"not_due": D("0"), "1_30": D("50.00"), "31_60": D("70.00"),
                            "61_90": D("0"), "over_90": D("40.00")}  # fmt: skip


def test_filters_and_sorting(app: Flask, shop: Shop, book: dict[str, uuid.UUID]) -> None:
    assert [c.name for c in _report(app, shop, sort="amount").customers] == ["Ann", "Dan"]
    assert [c.name for c in _report(app, shop, min_days=60).customers] == ["Dan"]
    assert [c.name for c in _report(app, shop, min_days=90).customers] == ["Dan"]
    assert [c.name for c in _report(app, shop, query="an").customers] == ["Dan", "Ann"]
    assert [c.name for c in _report(app, shop, query="0700").customers] == ["Dan"]
    assert _report(app, shop, query="%").customers == []


def test_many_days_later_everyone_has_moved_along(
    app: Flask, shop: Shop, book: dict[str, uuid.UUID]
) -> None:
    later = date.today() + timedelta(days=40)
    report = _report(app, shop, as_of=later)
    by_name = {c.name: c for c in report.customers}
    assert set(by_name) == {"Dan", "Ann", "Ben", "Cat"}
    assert by_name["Ann"].aging["61_90"] == D("70.00")  # 85 days late
    assert by_name["Ann"].aging["31_60"] == D("50.00")  # 50 days late
    assert (by_name["Ben"].days_overdue, by_name["Ben"].aging["1_30"]) == (20, D("25.00"))
    assert (by_name["Cat"].days_overdue, by_name["Cat"].aging["31_60"]) == (35, D("60.00"))
    assert by_name["Dan"].aging["over_90"] == D("40.00")


def test_buckets_add_up_to_the_balance(
    app: Flask, shop: Shop, book: dict[str, uuid.UUID], database: DatabaseUrls
) -> None:
    for as_of in (date.today(), date.today() + timedelta(days=40)):
        for customer in _report(app, shop, as_of=as_of).customers:
            assert sum(customer.aging.values()) == customer.balance, customer.name


def test_buckets_add_up_in_the_demo_data(app: Flask, database: DatabaseUrls) -> None:
    assert app.test_cli_runner().invoke(args=["demo", "--yes-really"]).exit_code == 0
    checked = 0
    for (business_id,) in fetch(database.admin, "SELECT id FROM businesses"):
        with tenant_session(app, business_id) as session:
            report = reports.overdue(session)
            dashboard = reports.dashboard(session)
        assert report.customers, "the demo should have overdue customers"
        for customer in report.customers:
            assert sum(customer.aging.values()) == customer.balance, customer.name
            checked += 1
        assert sum(dashboard.aging.values()) == dashboard.total_owed
    assert checked > 10


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_today_is_the_business_day_not_the_servers(
    app: Flask, shop: Shop, database: DatabaseUrls, zone: str
) -> None:
    """Kiritimati is UTC+14 and Pago Pago UTC−11: at any hour one of them is not on UTC's date."""
    fetch(database.admin, "UPDATE businesses SET timezone = %s RETURNING id", zone)
    local_today = fetch(database.admin, "SELECT (now() AT TIME ZONE %s)::date", zone)[0][0]
    product = add_product(database.admin, shop.business_id, price="1.00")
    due_today = add_customer(database.admin, shop.business_id, "Due today")
    due_yesterday = add_customer(database.admin, shop.business_id, "Due yesterday")
    for customer, due_on in (
        (due_today, local_today),
        (due_yesterday, local_today - timedelta(days=1)),
    ):
        order = sell(app, shop, customer, product, 3)
        redate_sale(database.admin, order, due_on=due_on)
    report = _report(app, shop)
    assert report.as_of == local_today
    assert [(c.name, c.days_overdue) for c in report.customers] == [("Due yesterday", 1)]


def test_the_pages_csv_print_and_api(
    app: Flask,
    clerk_client: FlaskClient,
    shop: Shop,
    book: dict[str, uuid.UUID],
    database: DatabaseUrls,
) -> None:
    page = clerk_client.get("/overdue").get_data(as_text=True)
    assert page.index(">Dan<") < page.index(">Ann<")
    assert "Eve" not in page
    # Each reminder button shows its message; pressing one records it and then opens it.
    assert 'title="Opens WhatsApp with: Hello Ann, this is Alpha Store.' in page
    assert 'title="Opens your messages with: Hello Dan' in page
    assert f'action="/customers/{book["Ann"]}/remind"' in page
    assert "$120.00 on your account has been due since" in page  # the amount and the date
    assert "2 customers" in page

    response = clerk_client.get("/overdue.csv?min_days=30")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")  # a byte order mark: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0][:7] == ["Customer", "Phone", "Balance", "Overdue amount", "Oldest due date",
                           "Days overdue", "Last payment"]  # fmt: skip
    today = date.today()
    assert rows[1] == ["Dan", "0700-000-004", "40.00", "40.00",
                       (today - timedelta(days=95)).isoformat(), "95",
                       (today - timedelta(days=5)).isoformat(),
                       "0.00", "0.00", "0.00", "0.00", "40.00"]  # fmt: skip
    assert rows[2][1] == "'+254 700 000 001"  # a leading + would start a formula
    assert len(rows) == 3

    printed = clerk_client.get("/overdue/print").get_data(as_text=True)
    assert "Overdue customers as of" in printed
    assert 'class="mainnav"' not in printed and "Sign out" not in printed
    assert "Contacted / promised" in printed

    auth = api_auth(app, shop.slug)
    body = app.test_client().get("/api/overdue?min_days=60", headers=auth).get_json()
    assert body["as_of"] == today.isoformat()
    assert [c["name"] for c in body["customers"]] == ["Dan"]
    assert body["customers"][0]["aging"] == {
        "not_due": "0.00", "1_30": "0.00", "31_60": "0.00", "61_90": "0.00", "over_90": "40.00"
    }  # fmt: skip
    assert body["totals"] == {
        "balance": "40.00", "overdue_amount": "40.00",
        "aging": {"not_due": "0.00", "1_30": "0.00", "31_60": "0.00", "61_90": "0.00",
                  "over_90": "40.00"},
    }  # fmt: skip
    assert app.test_client().get("/api/overdue?min_days=7", headers=auth).status_code == 400


def test_every_row_is_printed_though_the_screen_pages(
    app: Flask, clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    product = add_product(database.admin, shop.business_id, price="1.00", stock=10_000)
    for n in range(55):
        customer = add_customer(database.admin, shop.business_id, f"Late {n:02d}")
        _sale(app, database, shop, customer, product, 2, -10 - n)
    screen = clerk_client.get("/overdue").get_data(as_text=True)
    assert screen.count("Late ") == 50 and 'rel="next"' in screen
    printed = clerk_client.get("/overdue/print").get_data(as_text=True)
    assert all(f"Late {n:02d}" in printed for n in range(55))
    assert "55 customers" in printed


def test_a_formula_name_is_neutralised_in_csv_and_escaped_on_pages(
    app: Flask, clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    product = add_product(database.admin, shop.business_id, price="1.00")
    for name in ('=HYPERLINK("x")', "<script>alert(1)</script>", "@SUM(A1)", "-2+3"):
        customer = add_customer(database.admin, shop.business_id, name)
        _sale(app, database, shop, customer, product, 1, -3)
    body = clerk_client.get("/overdue.csv").get_data(as_text=True).removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(body)))
    names = sorted(row[0] for row in rows[1:])
    assert names == sorted(['\'=HYPERLINK("x")', "<script>alert(1)</script>", "'@SUM(A1)", "'-2+3"])
    for path in ("/overdue", "/overdue/print"):
        page = clerk_client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_dashboard(
    app: Flask,
    clerk_client: FlaskClient,
    shop: Shop,
    book: dict[str, uuid.UUID],
    database: DatabaseUrls,
) -> None:
    with tenant_session(app, shop.business_id) as session:
        figures = reports.dashboard(session)
    # All the book's sales were dated back; today's: none. Payments were dated back too.
    assert (figures.sales_today, figures.payments_today) == (0, 0)
    assert figures.total_owed == D("245.00")  # Ann 120, Ben 25, Cat 60, Dan 40
    assert (figures.overdue_amount, figures.overdue_customers) == (D("160.00"), 2)
    assert figures.aging == {"not_due": D("85.00"), "1_30": D("50.00"), "31_60": D("70.00"),
                             "61_90": D("0"), "over_90": D("40.00")}  # fmt: skip
    fetch(database.admin, "UPDATE products SET stock = 2 RETURNING id")
    page = clerk_client.get("/").get_data(as_text=True)
    assert "<svg" in page and page.count('class="bar bar-') == 5
    assert 'href="/overdue?min_days=90"' in page
    assert "$245.00" in page and "$160.00" in page
    assert "Low on stock" in page and "<strong>2</strong>" in page


def test_the_first_page_from_kept_figures_equals_the_full_computation(
    app: Flask, shop: Shop, book: dict[str, uuid.UUID], database: DatabaseUrls
) -> None:
    """The unfiltered first page reads the maintained figures; everything else computes from
    every open sale. Both must say the same, today, later, and on the demo's history."""
    assert app.test_cli_runner().invoke(args=["demo", "--yes-really"]).exit_code == 0
    businesses = [row[0] for row in fetch(database.admin, "SELECT id FROM businesses")]
    assert ledger_violations(database.admin) == []
    for business_id in businesses:
        for as_of in (date.today(), date.today() + timedelta(days=40)):
            with tenant_session(app, business_id) as session:
                kept = reports.overdue(session, limit=1000, as_of=as_of)
                computed = reports.overdue(session, as_of=as_of)
            assert kept == computed, (business_id, as_of)
