"""The owners' reports (/reports): their figures agree with the ledger, worked out here straight
from orders, order_items, payments, allocations, returns and reversals on a fixture with sales,
payments, a return, a void with a refund, a reversal, a quick entry and an opening balance by
two clerks and the owner; the rollups the ledger functions keep agree with the ones
rebuild_report_rollups (the migration's fill) makes; history spread over months; who may see
them; bad periods; the CSVs."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from flask import Flask

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    fetch,
    ledger_violations,
    signed_in,
    tenant_session,
)
from webapp import ledger
from webapp.db import get_db
from webapp.embedded import DatabaseUrls
from webapp.insights import queries
from webapp.insights.period import Period, parse_period
from webapp.reports import business_today
from webapp.staff.operations import create_user

ROLLUPS = (
    "sales_by_day",
    "sales_by_month",
    "sales_totals_by_day",
    "owed_by_day",
    "collections_by_day",
)
ZERO = Decimal("0.00")


def _today(app: Flask, shop: Shop) -> date:
    with tenant_session(app, shop.business_id) as session:
        return business_today(session)


@pytest.fixture
def history(app: Flask, database: DatabaseUrls, shop: Shop) -> dict[str, uuid.UUID]:
    """One day of the shop, through the ledger functions, by Carl and Dora (clerks) and Olive:
    - Carl sells Grace 3 rice (30.00) and 2 sugar (9.00); Dora sells Hassan a quick entry
      (12.00) and Ivy 1 rice (10.00); Ivy has an opening balance of 50.00 (due the same day);
    - Grace pays 20.00 cash and 5.00 card; Hassan 12.00 mobile money; Ivy 30.00 by bank
      transfer (10.00 to her rice, made first, and 20.00 to her opening balance);
    - Olive takes back 1 sugar of Grace's sale (4.50 off what she owes), and voids Ivy's rice
      sale: the 10.00 paid on it moves to her opening balance, nothing is refunded;
    - Dora sells Hassan 1 rice (10.00), he pays 10.00 cash and Olive voids the sale: 10.00
      refunded in cash;
    - Grace pays 4.00 cash and Olive reverses it.
    Balances: Grace 9.50, Hassan 0, Ivy 20.00.
    """
    with app.app_context(), get_db().admin_transaction() as session:
        dora = create_user(
            session,
            business_id=shop.business_id,
            email=f"dora@{shop.slug}.test",
            name="Dora Clerk",
            role="clerk",
            password="correct horse battery",
        ).id
    grace = add_customer(database.admin, shop.business_id, "Grace")
    hassan = add_customer(database.admin, shop.business_id, "Hassan")
    ivy = add_customer(database.admin, shop.business_id, "Ivy")
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00", stock=50)
    sugar = add_product(database.admin, shop.business_id, "Sugar", price="4.50", stock=50)
    with tenant_session(app, shop.business_id) as session:

        def sell(customer: uuid.UUID, user: uuid.UUID, **kw: object) -> uuid.UUID:
            return ledger.purchase(
                session, customer_id=customer, idempotency_key=uuid.uuid4(), user_id=user, **kw
            ).order_id  # type: ignore[arg-type]

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

        def give_back(order: uuid.UUID, **kw: object) -> None:
            ledger.record_return(
                session,
                order_id=order,
                reason="put right",
                idempotency_key=uuid.uuid4(),
                user_id=shop.owner_id,
                **kw,  # type: ignore[arg-type]
            )

        graces = sell(grace, shop.clerk_id, lines=[ledger.Line(rice, 3), ledger.Line(sugar, 2)])
        sell(hassan, dora, lines=[], amount=Decimal("12.00"), note="Paraffin")
        ivys = sell(ivy, dora, lines=[ledger.Line(rice, 1)])
        ledger.record_opening_balances(session, [(ivy, Decimal("50.00"))], user_id=shop.owner_id)
        take(grace, "20.00", "cash", shop.clerk_id)
        take(grace, "5.00", "card", dora)
        take(hassan, "12.00", "mobile_money", shop.owner_id)
        take(ivy, "30.00", "bank_transfer", dora)
        give_back(graces, lines=[ledger.Line(sugar, 1)])
        give_back(ivys, void=True)
        hassans = sell(hassan, dora, lines=[ledger.Line(rice, 1)])
        take(hassan, "10.00", "cash", dora)
        give_back(hassans, void=True, refund_method="cash")
        bounced = take(grace, "4.00", "cash", shop.clerk_id)
        ledger.reverse_payment(
            session,
            payment_id=bounced,
            reason="bounced",
            idempotency_key=uuid.uuid4(),
            user_id=shop.owner_id,
        )
    assert ledger_violations(database.admin) == []
    return {"grace": grace, "hassan": hassan, "ivy": ivy, "rice": rice, "sugar": sugar}


# --- The figures, worked out from the ledger's own tables ----------------------------------

TZ_DAY = "(({col}) AT TIME ZONE b.timezone)::date"


def ledger_sales_by_day(admin: str, business: uuid.UUID) -> dict[tuple[date, str], tuple]:
    """(day, product or 'none') → (sold qty, sold, returned qty, returned), opening balances
    left out."""
    found: dict[tuple[date, str], list[Decimal]] = defaultdict(lambda: [ZERO] * 4)
    for day, product, qty, amount in fetch(
        admin,
        f"""SELECT {TZ_DAY.format(col="o.created_at")}, i.product_id::text, i.quantity,
                   i.quantity * i.unit_price
              FROM order_items i JOIN orders o ON o.id = i.order_id
              JOIN businesses b ON b.id = o.business_id WHERE o.business_id = %s""",
        business,
    ):
        found[(day, product)][0] += qty
        found[(day, product)][1] += amount
    for day, total in fetch(
        admin,
        f"""SELECT {TZ_DAY.format(col="o.created_at")}, o.total FROM orders o
              JOIN businesses b ON b.id = o.business_id
             WHERE o.business_id = %s AND NOT o.is_opening_balance
               AND NOT EXISTS (SELECT FROM order_items i WHERE i.order_id = o.id)""",
        business,
    ):
        found[(day, "none")][1] += total
    for day, product, qty, amount in fetch(
        admin,
        f"""SELECT {TZ_DAY.format(col="x.created_at")}, ri.product_id::text, ri.quantity,
                   ri.quantity * ri.unit_price
              FROM return_items ri JOIN returns x ON x.id = ri.return_id
              JOIN businesses b ON b.id = x.business_id WHERE x.business_id = %s""",
        business,
    ):
        found[(day, product)][2] += qty
        found[(day, product)][3] += amount
    for day, amount in fetch(
        admin,
        f"""SELECT {TZ_DAY.format(col="x.created_at")}, x.amount FROM returns x
              JOIN orders o ON o.id = x.order_id JOIN businesses b ON b.id = x.business_id
             WHERE x.business_id = %s AND NOT o.is_opening_balance
               AND NOT EXISTS (SELECT FROM return_items ri WHERE ri.return_id = x.id)""",
        business,
    ):
        found[(day, "none")][3] += amount
    return {key: tuple(value) for key, value in found.items()}


def ledger_collections(admin: str, business: uuid.UUID) -> dict[tuple[date, str], tuple]:
    """(day, method) → (received, reversed since, refunded)."""
    found: dict[tuple[date, str], list[Decimal]] = defaultdict(lambda: [ZERO] * 3)
    for day, method, amount, reversed_ in fetch(
        admin,
        f"""SELECT {TZ_DAY.format(col="p.created_at")}, p.method, p.amount,
                   EXISTS (SELECT FROM payment_reversals v WHERE v.payment_id = p.id)
              FROM payments p JOIN businesses b ON b.id = p.business_id
             WHERE p.business_id = %s""",
        business,
    ):
        found[(day, method)][0] += amount
        if reversed_:
            found[(day, method)][1] += amount
    for day, method, refund in fetch(
        admin,
        f"""SELECT {TZ_DAY.format(col="x.created_at")}, x.refund_method, x.refund
              FROM returns x JOIN businesses b ON b.id = x.business_id
             WHERE x.business_id = %s AND x.refund > 0""",
        business,
    ):
        found[(day, method)][2] += refund
    return {key: tuple(value) for key, value in found.items()}


def ledger_owed_at(admin: str, business: uuid.UUID, point: date) -> list[Decimal]:
    """What was owed at the end of `point`, by age, from the sales made by then less what was
    returned and paid (allocations as they stand, payments not reversed by then)."""
    buckets = [ZERO] * 5
    with psycopg.connect(admin) as conn:
        found = conn.execute(
            f"""SELECT o.due_on,
                   o.total
                   - coalesce((SELECT sum(x.amount) FROM returns x WHERE x.order_id = o.id
                                  AND {TZ_DAY.format(col="x.created_at")} <= %(p)s), 0)
                   - coalesce((SELECT sum(a.amount) FROM payment_allocations a
                                 JOIN payments p ON p.id = a.payment_id
                                WHERE a.order_id = o.id
                                  AND {TZ_DAY.format(col="p.created_at")} <= %(p)s
                                  AND NOT EXISTS (
                                      SELECT FROM payment_reversals v
                                       WHERE v.payment_id = p.id
                                         AND {TZ_DAY.format(col="v.created_at")} <= %(p)s)),
                              0)
              FROM orders o JOIN businesses b ON b.id = o.business_id
             WHERE o.business_id = %(b)s AND {TZ_DAY.format(col="o.created_at")} <= %(p)s""",
            {"b": business, "p": point},
        ).fetchall()
    for due_on, owed in found:
        late = (point - due_on).days
        index = 0 if late <= 0 else 1 if late <= 30 else 2 if late <= 60 else 3 if late <= 90 else 4
        buckets[index] += owed
    return buckets


def rollups(admin: str, business: uuid.UUID) -> dict[str, set[tuple]]:  # type: ignore[type-arg]
    """Every rollup row of the business but those that add up to nothing."""
    found = {}
    for table in ROLLUPS:
        rows = fetch(admin, f"SELECT * FROM {table} WHERE business_id = %s", business)
        found[table] = {
            row for row in rows if any(isinstance(v, Decimal | int) and v != 0 for v in row)
        }
    return found


# --- Tests ---------------------------------------------------------------------------------


def test_the_reports_agree_with_the_ledger(
    app: Flask, database: DatabaseUrls, shop: Shop, history: dict[str, uuid.UUID]
) -> None:
    today = _today(app, shop)
    period = Period(today.replace(day=1), today, "day")
    with tenant_session(app, shop.business_id) as session:
        sales = queries.sales_report(session, period)
        collections = queries.collections_report(session, period)
        owed = queries.owed_report(session, period)
        top = queries.top_customers(session)

    by_day = ledger_sales_by_day(database.admin, shop.business_id)
    names = {str(history["rice"]): "Rice", str(history["sugar"]): "Sugar", "none": None}
    # By product: rice 3 + 1 + 1 sold (50.00), 1 + 1 back (20.00); sugar 2 (9.00), 1 back;
    # the quick entry 12.00.
    assert {
        (p.name, p.sold_quantity, p.sold, p.returned_quantity, p.returned) for p in sales.products
    } == {(names[product], int(v[0]), v[1], int(v[2]), v[3]) for (_, product), v in by_day.items()}
    assert {(p.name, p.net) for p in sales.products} == {
        ("Rice", Decimal("30.00")),
        ("Sugar", Decimal("4.50")),
        (None, Decimal("12.00")),
    }
    today_row = next(p for p in sales.periods if p.period == today)
    assert today_row.sales == 4  # the opening balance is not a sale
    assert today_row.sold == Decimal("71.00")
    assert today_row.returns == 3
    assert today_row.returned == Decimal("24.50")
    assert sales.total.net == Decimal("46.50")

    money = ledger_collections(database.admin, shop.business_id)
    got = collections.total.methods
    for (_, method), (received, reversed_, refunded) in money.items():
        assert (got[method].received, got[method].reversed, got[method].refunded) == (
            received,
            reversed_,
            refunded,
        ), method
    assert got["cash"].kept == Decimal("30.00")  # 20 + 10 (the 4.00 was reversed)
    assert collections.total.kept == Decimal("77.00")
    assert collections.total.refunded == Decimal("10.00")
    assert collections.total.net == Decimal("67.00")

    # What is owed today: every sale is due in the shop's credit days, so none is late yet.
    last = owed.points[-1]
    assert last.point == today
    assert last.buckets == ledger_owed_at(database.admin, shop.business_id, today)
    balances = fetch(
        database.admin,
        "SELECT sum(balance) FROM customers WHERE business_id = %s",
        shop.business_id,
    )[0][0]
    assert last.total == balances == Decimal("29.50")
    assert top.owed == balances
    assert [(c.name, c.balance) for c in top.customers] == [
        ("Ivy", Decimal("20.00")),
        ("Grace", Decimal("9.50")),
    ]
    assert top.owing == 2


def test_the_rollups_the_ledger_keeps_are_what_the_migration_fills(
    database: DatabaseUrls, shop: Shop, history: dict[str, uuid.UUID]
) -> None:
    kept = rollups(database.admin, shop.business_id)
    assert all(kept.values())
    with psycopg.connect(database.admin) as conn:
        conn.execute("SELECT rebuild_report_rollups(%s)", (shop.business_id,))
    assert rollups(database.admin, shop.business_id) == kept
    # Summed over the days, what is owed per due date is what the overdue list keeps.
    assert fetch(
        database.admin,
        """SELECT due_on, sum(change) FROM owed_by_day WHERE business_id = %s
            GROUP BY 1 HAVING sum(change) <> 0 ORDER BY 1""",
        shop.business_id,
    ) == fetch(
        database.admin,
        """SELECT due_on, sum(owed) FROM open_dues WHERE business_id = %s
            GROUP BY 1 HAVING sum(owed) <> 0 ORDER BY 1""",
        shop.business_id,
    )


BY_MONTH = "reports' sales by month differ from their days"
# A row (by its key) and column of each rollup put out of step, and the rules check-ledger then
# names (a day's sales put out of step take their month's sum with them).
DRIFTS = {
    "sales_by_day": (
        "day, product_id",
        "sold_amount",
        {"reports' sales by day differ from the ledger", BY_MONTH},
    ),
    "sales_by_month": ("month, product_id", "returned_quantity", {BY_MONTH}),
    "sales_totals_by_day": ("day", "sales", {"reports' daily totals differ from the ledger"}),
    "owed_by_day": (
        "day, due_on",
        "change",
        {"reports' amount owed on a due date differs from its sales"},
    ),
    "collections_by_day": (
        "day, method",
        "refunds",
        {"reports' collections differ from the ledger"},
    ),
}


@pytest.mark.parametrize("table", DRIFTS)
def test_check_ledger_finds_a_rollup_that_drifted_from_the_ledger(
    database: DatabaseUrls, shop: Shop, history: dict[str, uuid.UUID], table: str
) -> None:
    key, column, rules = DRIFTS[table]
    assert ledger_violations(database.admin) == []
    drift = f"""UPDATE {table} SET {column} = {column} + %s
                 WHERE business_id = %s AND ({key}) = (SELECT {key} FROM {table}
                                                      WHERE business_id = %s
                                                      ORDER BY {key} LIMIT 1)"""
    with psycopg.connect(database.admin) as conn:
        assert conn.execute(drift, (1, shop.business_id, shop.business_id)).rowcount == 1
    found = [v.split(": business ", 1) for v in ledger_violations(database.admin)]
    assert {rule for rule, _ in found} == rules
    assert all(facts.startswith(str(shop.business_id)) for _, facts in found)
    with psycopg.connect(database.admin) as conn:
        conn.execute(drift, (-1, shop.business_id, shop.business_id))
    assert ledger_violations(database.admin) == []


def _spread_over_months(admin: str, business: uuid.UUID) -> None:
    """Date the fixture's rows back: sales 100, 70, 40 and 35 days ago (due 30 days later), the
    payments 30 days ago, the returns 20 and the reversal 10 days ago, as if the
    shop had worked for months; then rebuild, as after any change made outside the ledger."""
    with psycopg.connect(admin) as conn:
        orders = conn.execute(
            "SELECT id FROM orders WHERE business_id = %s ORDER BY number", (business,)
        ).fetchall()
        for index, (order,) in enumerate(orders):
            ago = (100, 70, 40, 35)[index % 4]
            conn.execute(
                """UPDATE orders SET created_at = now() - %(ago)s * interval '1 day',
                          due_on = current_date - %(ago)s + 30 WHERE id = %(id)s""",
                {"ago": ago, "id": order},
            )
        conn.execute(
            """UPDATE payments p
                  SET created_at = now() - interval '30 days' + p.number * interval '1 hour'
                WHERE business_id = %s""",
            (business,),
        )
        conn.execute(
            "UPDATE returns SET created_at = now() - interval '20 days' WHERE business_id = %s",
            (business,),
        )
        conn.execute(
            """UPDATE payment_reversals SET created_at = now() - interval '10 days'
                WHERE business_id = %s""",
            (business,),
        )
        conn.execute(
            "SELECT rebuild_due_summaries(%(b)s), rebuild_report_rollups(%(b)s)", {"b": business}
        )


def test_history_over_months_agrees_with_the_ledger(
    app: Flask, database: DatabaseUrls, shop: Shop, history: dict[str, uuid.UUID]
) -> None:
    _spread_over_months(database.admin, shop.business_id)
    today = _today(app, shop)
    for by in ("month", "week"):
        period = Period(today - timedelta(days=120), today, by)
        with tenant_session(app, shop.business_id) as session:
            sales = queries.sales_report(session, period)
            collections = queries.collections_report(session, period)
            owed = queries.owed_report(session, period)

        by_day = ledger_sales_by_day(database.admin, shop.business_id)
        for row in sales.periods:
            ends = next(p for p in period.points() if p >= row.period)
            in_it = [v for (day, _), v in by_day.items() if row.period <= day <= ends]
            assert row.sold == sum((v[1] for v in in_it), ZERO), (by, row)
            assert row.returned == sum((v[3] for v in in_it), ZERO), (by, row)
        assert sales.total.sold == Decimal("71.00")
        assert sum((p.sold for p in sales.products), ZERO) == Decimal("71.00")

        money = ledger_collections(database.admin, shop.business_id)
        for row in collections.periods:
            ends = next(p for p in period.points() if p >= row.period)
            for method, sums in row.methods.items():
                in_it = [
                    v for (day, m), v in money.items() if m == method and row.period <= day <= ends
                ]
                assert sums.received == sum((v[0] for v in in_it), ZERO)
                assert sums.reversed == sum((v[1] for v in in_it), ZERO)
                assert sums.refunded == sum((v[2] for v in in_it), ZERO)

        assert [p.point for p in owed.points] == period.points()
        for point in owed.points:
            assert point.buckets == ledger_owed_at(database.admin, shop.business_id, point.point), (
                by,
                point,
            )
        # Some of it is late by now, in more than one bucket.
        assert len([b for b in owed.points[-1].buckets if b]) >= 2


def test_a_range_by_product_mixes_whole_months_and_days(
    app: Flask, database: DatabaseUrls, shop: Shop, history: dict[str, uuid.UUID]
) -> None:
    """From the middle of one month to the middle of another: the whole months come from the
    monthly rollup, the days at the ends from the daily one, and each sale is counted once."""
    _spread_over_months(database.admin, shop.business_id)
    today = _today(app, shop)
    by_day = ledger_sales_by_day(database.admin, shop.business_id)
    days = sorted({day for day, _ in by_day})
    for starts, ends in [
        (days[0], days[-1]),
        (days[0] + timedelta(days=1), days[-1]),
        (days[0], days[0]),
        (today - timedelta(days=365), today),
        (days[1], days[-1] - timedelta(days=1)),
    ]:
        with tenant_session(app, shop.business_id) as session:
            products = queries.sales_by_product(session, Period(starts, ends, "month"))
        expected = sum((v[1] for (day, _), v in by_day.items() if starts <= day <= ends), ZERO)
        assert sum((p.sold for p in products), ZERO) == expected, (starts, ends)


def test_owners_see_the_reports_and_clerks_do_not(
    app: Flask, shop: Shop, history: dict[str, uuid.UUID]
) -> None:
    owner = signed_in(app, shop.slug, shop.owner_email)
    home = owner.get("/").get_data(as_text=True)
    assert 'href="/reports"' in home
    index = owner.get("/reports")
    assert index.status_code == 200
    assert 'href="/reports/day"' in index.get_data(as_text=True)
    for path in ("/reports/sales", "/reports/collections", "/reports/owed", "/reports/customers"):
        page = owner.get(path)
        assert page.status_code == 200, path
        body = page.get_data(as_text=True)
        assert "<svg" in body and "<desc" in body and "<table" in body, path
        assert "style=" not in body, path
    clerk = signed_in(app, shop.slug, shop.clerk_email)
    assert 'href="/reports"' not in clerk.get("/").get_data(as_text=True)
    for path in (
        "/reports",
        "/reports/sales",
        "/reports/sales.csv",
        "/reports/collections",
        "/reports/collections.csv",
        "/reports/owed",
        "/reports/owed.csv",
        "/reports/customers",
        "/reports/customers.csv",
    ):
        assert clerk.get(path).status_code == 403, path


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=yesterday", "from", "Enter a date like"),
        ("from=2020-01-01", "from", "At most 366 days"),
        ("to=2999-01-01", "to", "That day has not come yet"),
        ("by=year", "by", "Choose by day, week or month."),
        ("by=day", "by", "By day, at most 92 days"),
    ],
)
def test_a_period_that_cannot_be_shown_is_said_next_to_its_field(
    app: Flask, shop: Shop, query: str, field: str, message: str
) -> None:
    owner = signed_in(app, shop.slug, shop.owner_email)
    for report in ("sales", "collections", "owed"):
        page = owner.get(f"/reports/{report}?{query}")
        assert page.status_code == 400
        body = page.get_data(as_text=True)
        assert f'id="{field}-error">{message}' in body.replace("&#39;", "'"), (report, body)
        assert "Showing the last 12 months instead." in body
        csv_answer = owner.get(f"/reports/{report}.csv?{query}")
        assert csv_answer.status_code == 400
        assert message in csv_answer.get_data(as_text=True)


def test_a_period_is_read_as_asked() -> None:
    today = date(2026, 12, 2)
    assert parse_period({}, today) == Period(date(2026, 1, 1), today, "month")
    assert parse_period({"from": "2026-11-01", "to": "2026-11-30", "by": "week"}, today) == Period(
        date(2026, 11, 1), date(2026, 11, 30), "week"
    )
    assert parse_period({"from": "2025-12-02", "to": "2026-12-02"}, today).errors == {}
    assert parse_period({"from": "2025-12-01", "to": "2026-12-02"}, today).errors
    assert parse_period({"from": "2026-09-02", "by": "day"}, today).errors == {}
    weeks = Period(date(2026, 11, 4), date(2026, 11, 20), "week")
    assert weeks.period_starts() == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    assert weeks.points() == [date(2026, 11, 8), date(2026, 11, 15), date(2026, 11, 20)]
    months = Period(date(2026, 1, 15), date(2026, 3, 3), "month")
    assert months.points() == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 3)]


def test_the_csvs_hold_the_figures(app: Flask, shop: Shop, history: dict[str, uuid.UUID]) -> None:
    owner = signed_in(app, shop.slug, shop.owner_email)

    def rows(path: str) -> list[dict[str, str]]:
        answer = owner.get(path)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("text/csv")
        text = answer.get_data(as_text=True)
        assert text.startswith("\ufeff")
        return list(csv.DictReader(io.StringIO(text[1:])))

    sales = rows("/reports/sales.csv")
    products = {r["period or product"]: r for r in sales if r["row"] == "product"}
    assert products["Rice"]["sold"] == "50.00" and products["Rice"]["net"] == "30.00"
    assert products["Without items (quick entries)"]["sold"] == "12.00"
    assert sum(Decimal(r["net"]) for r in sales if r["row"] == "period") == Decimal("46.50")
    collections = rows("/reports/collections.csv")
    assert sum(Decimal(r["kept"]) for r in collections) == Decimal("77.00")
    assert sum(Decimal(r["refunded"]) for r in collections) == Decimal("10.00")
    owed = rows("/reports/owed.csv")
    assert owed[-1]["total"] == "29.50"
    top = rows("/reports/customers.csv")
    assert [(r["customer"], r["balance"]) for r in top] == [("Ivy", "20.00"), ("Grace", "9.50")]


def test_a_range_is_split_into_months_and_days_that_cover_each_day_once() -> None:
    """Whole months, plus the days added, less the days taken off, count every day of the
    range once and no other day, for ranges starting and ending anywhere in a month."""
    from webapp.insights.period import month_split

    one = timedelta(days=1)
    starts = date(2025, 1, 1)
    for offset in range(0, 430, 3):
        for length in (0, 1, 14, 15, 16, 29, 30, 31, 45, 60, 200, 365):
            first, last = starts + offset * one, starts + (offset + length) * one
            split = month_split(first, last)
            day = first - 40 * one
            while day <= last + 40 * one:
                counted = (
                    (split["months_from"] <= day.replace(day=1) < split["months_to"])
                    + sum(split[f"add{n}_from"] <= day < split[f"add{n}_to"] for n in (1, 2))
                    - sum(split[f"sub{n}_from"] <= day < split[f"sub{n}_to"] for n in (1, 2))
                )
                assert counted == (first <= day <= last), (first, last, day, split)
                day += one
            # Never more than about half a month of days at either end.
            read = sum(
                (split[f"{kind}{n}_to"] - split[f"{kind}{n}_from"]).days
                for kind in ("add", "sub")
                for n in (1, 2)
            )
            assert read <= 32, (first, last, split)
