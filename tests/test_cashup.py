"""The cash-up, /reports/day: figures worked out by hand on a fixture (cash, card and mobile
money, two clerks, a refund, a quick entry, a reversal), who sees what, the CSV, and counting
the drawer."""

from __future__ import annotations

import csv
import io
import re
import uuid
from decimal import Decimal

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    csrf_token,
    fetch,
    login,
    make_shop,
    tenant_session,
)
from webapp import ledger
from webapp.cashup import queries
from webapp.embedded import DatabaseUrls

KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


@pytest.fixture
def day_of_work(app: Flask, database: DatabaseUrls, shop: Shop) -> dict[str, uuid.UUID]:
    """Carl (the clerk) and Olive (the owner) on one day:
    - Carl sells Grace rice for 30.00 and Hassan a quick entry of 12.00;
    - Grace pays Carl 20.00 cash and 5.00 by card; Hassan pays Olive 12.00 by mobile money;
    - Olive voids Grace's sale (25.00 had been paid: 25.00 refunded in cash);
    - Olive sells Hassan rice for 10.00, Hassan pays Carl 4.00 cash, and Olive reverses it.
    """
    grace = add_customer(database.admin, shop.business_id, "Grace")
    hassan = add_customer(database.admin, shop.business_id, "Hassan")
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00", stock=50)
    with tenant_session(app, shop.business_id) as session:

        def sell(customer: uuid.UUID, user: uuid.UUID, **kw: object) -> uuid.UUID:
            return ledger.purchase(
                session, customer_id=customer, idempotency_key=uuid.uuid4(), user_id=user, **kw
            ).order_id  # type: ignore[arg-type]

        graces = sell(grace, shop.clerk_id, lines=[ledger.Line(rice, 3)])
        sell(hassan, shop.clerk_id, lines=[], amount=Decimal("12.00"), note="Paraffin")

        def take(customer: uuid.UUID, amount: str, method: str, user: uuid.UUID) -> uuid.UUID:
            return ledger.pay(
                session,
                customer_id=customer,
                amount=Decimal(amount),
                method=method,
                note="",
                idempotency_key=uuid.uuid4(),
                user_id=user,
            ).payment_id

        take(grace, "20.00", "cash", shop.clerk_id)
        take(grace, "5.00", "card", shop.clerk_id)
        take(hassan, "12.00", "mobile_money", shop.owner_id)
        ledger.record_return(
            session,
            order_id=graces,
            reason="wrong customer",
            idempotency_key=uuid.uuid4(),
            user_id=shop.owner_id,
            void=True,
            refund_method="cash",
        )
        sell(hassan, shop.owner_id, lines=[ledger.Line(rice, 1)])
        bounced = take(hassan, "4.00", "cash", shop.clerk_id)
        ledger.reverse_payment(
            session,
            payment_id=bounced,
            reason="wrong customer",
            idempotency_key=uuid.uuid4(),
            user_id=shop.owner_id,
        )
    return {"grace": grace, "hassan": hassan}


def _today(app: Flask, shop: Shop):
    from webapp.reports import business_today

    with tenant_session(app, shop.business_id) as session:
        return business_today(session)


def test_the_figures_add_up_by_hand(
    app: Flask, database: DatabaseUrls, shop: Shop, day_of_work: dict[str, uuid.UUID]
) -> None:
    with tenant_session(app, shop.business_id) as session:
        figures = queries.cash_up(session, _today(app, shop), None)
    money = Decimal
    assert figures.received == queries.Sum(4, money("41.00"))
    assert figures.reversed_since == queries.Sum(1, money("4.00"))
    assert figures.by_method == {
        "cash": queries.Sum(1, money("20.00")),
        "card": queries.Sum(1, money("5.00")),
        "mobile_money": queries.Sum(1, money("12.00")),
    }
    assert figures.kept == queries.Sum(3, money("37.00"))
    assert figures.by_clerk == {
        "Carl Clerk": {
            "cash": money("20.00"),
            "card": money("5.00"),
            "bank_transfer": money("0.00"),
            "mobile_money": money("0.00"),
            "other": money("0.00"),
        },
        "Olive Owner": {
            "cash": money("0.00"),
            "card": money("0.00"),
            "bank_transfer": money("0.00"),
            "mobile_money": money("12.00"),
            "other": money("0.00"),
        },
    }
    assert figures.refunds == {"cash": queries.Sum(1, money("25.00"))}
    assert figures.sales_with_items == queries.Sum(2, money("40.00"))
    assert figures.quick_entries == queries.Sum(1, money("12.00"))
    assert figures.returned == queries.Sum(1, money("30.00"))
    assert figures.reversals_recorded == queries.Sum(1, money("4.00"))
    # 52 sold − 30 returned + 25 refunded − 41 taken + 4 reversed = 10: what they owe now.
    assert figures.net_change == money("10.00")
    assert fetch(database.admin, "SELECT sum(balance) FROM customers") == [(money("10.00"),)]


def test_a_clerk_sees_only_their_own_work(
    app: Flask, shop: Shop, clerk_client: FlaskClient, day_of_work: dict[str, uuid.UUID]
) -> None:
    page = clerk_client.get("/reports/day").get_data(as_text=True)
    assert "Grace" in page and "Paraffin" in page  # Carl's sale and quick entry
    assert "Hassan" in page  # his payment of 4.00, reversed since
    assert "Mobile money" not in page  # Olive's payment
    # Asking for everyone's (or the owner's) changes nothing for a clerk.
    other = clerk_client.get(f"/reports/day?person={shop.owner_id}").get_data(as_text=True)
    assert "Mobile money" not in other


def test_an_owner_sees_everyone_or_one_person(
    app: Flask, shop: Shop, owner_client: FlaskClient, day_of_work: dict[str, uuid.UUID]
) -> None:
    everyone = owner_client.get("/reports/day").get_data(as_text=True)
    assert "Payments kept, by person" in everyone and "Mobile money" in everyone
    carl = owner_client.get(f"/reports/day?person={shop.clerk_id}").get_data(as_text=True)
    assert "Mobile money" not in carl and "Paraffin" in carl


def test_bad_and_future_days_are_said_and_today_is_shown(
    app: Flask, shop: Shop, owner_client: FlaskClient
) -> None:
    today = _today(app, shop)
    page = owner_client.get("/reports/day?date=2026-02-30").get_data(as_text=True)
    assert "Enter a date like Mar 31, 2026." in page  # the shop's way, as the page writes dates
    future = owner_client.get(f"/reports/day?date={today.replace(year=today.year + 1)}")
    assert "That day has not come yet." in future.get_data(as_text=True)


def test_the_csv_lists_every_line_behind_the_figures(
    app: Flask, shop: Shop, owner_client: FlaskClient, day_of_work: dict[str, uuid.UUID]
) -> None:
    response = owner_client.get("/reports/day.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["What", "Number", "Time", "Customer", "By", "Method", "Amount", "Note"]
    kinds = sorted(row[0] for row in rows[1:])
    assert kinds == sorted(
        ["Payment"] * 3
        + ["Payment (reversed since)", "Sale", "Sale", "Quick entry", "Void", "Refund"]
        + ["Payment reversed"]
    )
    refunds = [row for row in rows if row[0] == "Refund"]
    assert [row[3:7] for row in refunds] == [["Grace", "Olive Owner", "cash", "25.00"]]


def _count(client: FlaskClient, **fields: str):
    page = client.get("/reports/day").get_data(as_text=True)
    key = KEY.search(page)
    assert key, page
    day = re.search(r'name="day" type="hidden" value="([^"]+)"', page)
    assert day, page
    data = {
        "csrf_token": csrf_token(client, "/reports/day"),
        "idempotency_key": key.group(1),
        "day": day.group(1),
        **fields,
    }
    return client.post("/reports/day/count", data=data)


def test_counting_the_drawer_records_expected_counted_and_over_or_short(
    app: Flask,
    database: DatabaseUrls,
    shop: Shop,
    clerk_client: FlaskClient,
    day_of_work: dict[str, uuid.UUID],
) -> None:
    # Carl took 20.00 cash (and 4.00 that was reversed); he refunded nothing himself.
    response = _count(clerk_client, float_amount="100.00", counted="118.50", note="")
    assert response.status_code == 302
    assert fetch(
        database.admin,
        "SELECT user_id, float_amount, expected, counted, counted - expected FROM drawer_counts",
    ) == [
        (shop.clerk_id, Decimal("100.00"), Decimal("120.00"), Decimal("118.50"), Decimal("-1.50"))
    ]
    page = clerk_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "short" in page and "$1.50" in page


def test_a_bad_count_is_explained_and_nothing_is_recorded(
    app: Flask, database: DatabaseUrls, shop: Shop, clerk_client: FlaskClient
) -> None:
    for fields, message in [
        ({"counted": ""}, "Enter the cash you counted"),
        ({"counted": "lots"}, "The cash counted must be an amount such as 12.50."),
        ({"counted": "-1"}, "The cash counted cannot be negative."),
        ({"counted": "10", "float_amount": "-5"}, "The float cannot be negative."),
        ({"counted": "99999999999999"}, "The cash counted is too large."),
    ]:
        response = _count(clerk_client, **fields)
        assert response.status_code == 400, fields
        assert message in response.get_data(as_text=True), fields
    assert fetch(database.admin, "SELECT count(*) FROM drawer_counts") == [(0,)]


def test_a_count_sent_twice_is_recorded_once(
    app: Flask, database: DatabaseUrls, shop: Shop, clerk_client: FlaskClient
) -> None:
    page = clerk_client.get("/reports/day").get_data(as_text=True)
    key = KEY.search(page)
    assert key
    data = {
        "csrf_token": csrf_token(clerk_client, "/reports/day"),
        "idempotency_key": key.group(1),
        "day": _today(app, shop).isoformat(),
        "counted": "0",
    }
    assert clerk_client.post("/reports/day/count", data=data).status_code == 302
    assert clerk_client.post("/reports/day/count", data=data).status_code == 302
    assert fetch(database.admin, "SELECT count(*) FROM drawer_counts") == [(1,)]


def test_another_shops_day_is_never_seen(
    app: Flask, database: DatabaseUrls, shop: Shop, day_of_work: dict[str, uuid.UUID]
) -> None:
    other = make_shop(app, "gamma-store")
    client = app.test_client()
    login(client, other.slug, other.owner_email)
    page = client.get("/reports/day").get_data(as_text=True)
    assert "Grace" not in page and "Paraffin" not in page
    with psycopg.connect(database.admin) as conn:
        assert conn.execute("SELECT count(*) FROM payments").fetchone() == (4,)


def test_the_home_page_links_to_todays_cash_up(owner_client: FlaskClient) -> None:
    assert 'href="/reports/day"' in owner_client.get("/").get_data(as_text=True)
