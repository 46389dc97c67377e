"""What a customer owes and how it came about: open sales, overdue amounts, statements.

Every query runs as the app role with the business bound, so row-level security keeps it to
that business. "Today" is today in the business's timezone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy import text
from sqlalchemy.orm import Session

from webapp.listing import like_pattern

ZERO = Decimal("0.00")

TODAY = text("SELECT (now() AT TIME ZONE timezone)::date FROM businesses")


def business_today(session: Session) -> date:
    today: date = session.execute(TODAY).scalar_one()
    return today


@dataclass(frozen=True)
class OpenSale:
    order_id: uuid.UUID
    created_at: datetime
    due_on: date
    total: Decimal
    owed: Decimal
    days_overdue: int  # 0 when not yet due


OPEN_SALES = text(
    """SELECT o.id, o.created_at, o.due_on, o.total, o.total - o.returned - o.paid AS owed,
              greatest((now() AT TIME ZONE b.timezone)::date - o.due_on, 0) AS days_overdue
         FROM orders o JOIN businesses b ON b.id = o.business_id
        WHERE o.customer_id = :customer_id AND o.paid + o.returned < o.total
        ORDER BY o.due_on, o.created_at, o.id"""
)


def open_sales(session: Session, customer_id: uuid.UUID) -> list[OpenSale]:
    """Sales not fully paid, oldest due first: the order payments are applied in."""
    rows = session.execute(OPEN_SALES, {"customer_id": customer_id})
    return [OpenSale(*row) for row in rows]


def overdue_amount(sales: list[OpenSale]) -> Decimal:
    return sum((sale.owed for sale in sales if sale.days_overdue > 0), ZERO)


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    # "sale", "carried_over" (an opening balance), "payment", "return", "void" or "reversal"
    # (a payment undone)
    kind: str
    id: uuid.UUID  # the sale's, payment's or return's
    number: int  # its number ("Sale 1042")
    due_on: date | None  # a sale's due date
    method: str | None  # how a payment was made, or a refund given
    note: str | None  # what a sale without items was for; why a return or reversal was made
    charge: Decimal  # what a sale (or a reversal) added
    payment: Decimal  # what a payment (or a return, less what it refunded) took off
    balance: Decimal  # running balance after this line
    returned: Decimal = ZERO  # a return's goods at the price sold
    refund: Decimal = ZERO  # of that, money given back to the customer


@dataclass(frozen=True)
class Statement:
    date_from: date
    date_to: date
    opening: Decimal
    lines: list[StatementLine]

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening

    @property
    def charges(self) -> Decimal:
        return sum((line.charge for line in self.lines), ZERO)

    @property
    def payments(self) -> Decimal:
        return sum((line.payment for line in self.lines), ZERO)


# Sales add to what is owed, payments take off; both of one customer, by time.
_MOVEMENTS = """
    WITH bounds AS (
        SELECT CAST(:date_from AS date)::timestamp AT TIME ZONE timezone AS starts,
               (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE timezone AS ends
          FROM businesses
    ), movements AS (
        SELECT o.created_at AS at,
               CASE WHEN o.is_opening_balance THEN 'carried_over' ELSE 'sale' END AS kind,
               o.id, o.number, o.total AS amount, o.due_on,
               NULL AS method, o.note, NULL::numeric AS returned, NULL::numeric AS refund
          FROM orders o WHERE o.customer_id = :customer_id
        UNION ALL
        SELECT p.created_at, 'payment', p.id, p.number, -p.amount, NULL, p.method, NULL, NULL,
               NULL
          FROM payments p WHERE p.customer_id = :customer_id
        UNION ALL
        -- A return takes off what it was worth less what of it went back as money: one line,
        -- so the running balance never shows below zero in between.
        SELECT x.created_at, CASE WHEN x.is_void THEN 'void' ELSE 'return' END, x.id, x.number,
               x.refund - x.amount, NULL, x.refund_method, x.reason, x.amount, x.refund
          FROM returns x WHERE x.customer_id = :customer_id
        UNION ALL
        SELECT v.created_at, 'reversal', p.id, p.number, p.amount, NULL, p.method, v.reason,
               NULL, NULL
          FROM payment_reversals v JOIN payments p ON p.business_id = v.business_id
                                                  AND p.id = v.payment_id
         WHERE p.customer_id = :customer_id
    )
"""
OPENING = text(
    _MOVEMENTS
    + "SELECT coalesce(sum(m.amount), 0) FROM movements m, bounds WHERE m.at < bounds.starts"
)
LINES = text(
    _MOVEMENTS
    + """SELECT m.at, m.kind, m.id, m.number, m.amount, m.due_on, m.method, m.note, m.returned,
                m.refund
           FROM movements m, bounds
          WHERE m.at >= bounds.starts AND m.at < bounds.ends
          ORDER BY m.at, m.kind DESC, m.id"""
)


def statement(
    session: Session, customer_id: uuid.UUID, date_from: date, date_to: date
) -> Statement:
    """Opening balance, every sale, payment, return, refund and reversal from `date_from` to
    `date_to` (inclusive, in the business's timezone) with a running balance; the closing
    balance is the last one."""
    params = {"customer_id": customer_id, "date_from": date_from, "date_to": date_to}
    balance = session.execute(OPENING, params).scalar_one()
    opening = balance
    lines = []
    for row in session.execute(LINES, params):
        balance += row.amount
        charge, payment = (row.amount, ZERO) if row.amount > 0 else (ZERO, -row.amount)
        lines.append(
            StatementLine(
                row.at,
                row.kind,
                row.id,
                row.number,
                row.due_on,
                row.method,
                row.note,
                charge,
                payment,
                balance,
                row.returned or ZERO,
                row.refund or ZERO,
            )
        )
    return Statement(date_from, date_to, opening, lines)


BUCKETS = ("not_due", "1_30", "31_60", "61_90", "over_90")
BUCKET_LABELS = {
    "not_due": lazy_gettext("Not yet due"),
    "1_30": lazy_gettext("1–30 days"),
    "31_60": lazy_gettext("31–60 days"),
    "61_90": lazy_gettext("61–90 days"),
    "over_90": lazy_gettext("Over 90 days"),
}


def bucket_sums(owed: str, late: str) -> str:
    """SQL for the five aging sums of `owed` by `late` (days past due), named as the rows
    OverdueCustomer and the totals are read from: not_due, d1_30, d31_60, d61_90, over_90."""
    return f"""
        coalesce(sum({owed}) FILTER (WHERE {late} <= 0), 0) AS not_due,
        coalesce(sum({owed}) FILTER (WHERE {late} BETWEEN 1 AND 30), 0) AS d1_30,
        coalesce(sum({owed}) FILTER (WHERE {late} BETWEEN 31 AND 60), 0) AS d31_60,
        coalesce(sum({owed}) FILTER (WHERE {late} BETWEEN 61 AND 90), 0) AS d61_90,
        coalesce(sum({owed}) FILTER (WHERE {late} > 90), 0) AS over_90"""


@dataclass(frozen=True)
class OverdueCustomer:
    id: uuid.UUID
    name: str
    phone: str
    balance: Decimal
    overdue_amount: Decimal
    oldest_due_on: date
    days_overdue: int
    last_payment_on: date | None
    aging: dict[str, Decimal]  # BUCKETS → amount; they add up to the balance


@dataclass(frozen=True)
class OverdueReport:
    as_of: date
    customers: list[OverdueCustomer]
    count: int  # of every customer the filter matches, not only those shown
    balance: Decimal
    overdue_amount: Decimal
    aging: dict[str, Decimal]


# Per customer with anything overdue: what their open sales still owe, split by how far past
# due each is. Only open sales are read (through the partial index on them), each once: the
# last payment is looked up separately, so several payments never count a sale twice.
_OVERDUE = f"""
    WITH as_of AS (
        SELECT coalesce(CAST(:as_of AS date), (now() AT TIME ZONE timezone)::date) AS today,
               timezone
          FROM businesses
    ), open_sales AS (
        SELECT o.customer_id, o.due_on, o.total - o.returned - o.paid AS owed,
               a.today - o.due_on AS late
          FROM orders o, as_of a
         WHERE o.paid + o.returned < o.total
    ), per_customer AS (
        SELECT customer_id,
               sum(owed) FILTER (WHERE late > 0) AS overdue_amount,
               min(due_on) FILTER (WHERE late > 0) AS oldest_due_on,
               {bucket_sums("owed", "late")}
          FROM open_sales
         GROUP BY customer_id
        HAVING sum(owed) FILTER (WHERE late > 0) > 0
    ), listed AS (
        SELECT c.id, c.name, c.phone, c.balance, p.overdue_amount, p.oldest_due_on,
               a.today - p.oldest_due_on AS days_overdue,
               p.not_due, p.d1_30, p.d31_60, p.d61_90, p.over_90, a.timezone
          FROM per_customer p
          JOIN customers c ON c.id = p.customer_id
         CROSS JOIN as_of a
         WHERE a.today - p.oldest_due_on >= :min_days
           AND (CAST(:pattern AS text) IS NULL
                OR c.name ILIKE :pattern ESCAPE '\\' OR c.phone ILIKE :pattern ESCAPE '\\')
           AND (NOT CAST(:not_reminded AS boolean)
                OR NOT EXISTS (SELECT FROM reminders r
                                WHERE r.customer_id = c.id
                                  AND r.created_at > now() - interval '7 days'))
    )
"""
OVERDUE_ROWS = text(
    _OVERDUE
    + """SELECT l.*,
                (SELECT (max(pay.created_at) AT TIME ZONE l.timezone)::date
                   FROM payments pay WHERE pay.customer_id = l.id) AS last_payment_on
           FROM listed l
          ORDER BY CASE WHEN :sort = 'amount' THEN l.overdue_amount END DESC,
                   l.days_overdue DESC, l.name, l.id
          LIMIT :limit OFFSET :offset"""
)
OVERDUE_TOTALS = text(
    _OVERDUE
    + """SELECT (SELECT today FROM as_of) AS as_of, count(*) AS count,
                coalesce(sum(balance), 0) AS balance,
                coalesce(sum(overdue_amount), 0) AS overdue_amount,
                coalesce(sum(not_due), 0) AS not_due, coalesce(sum(d1_30), 0) AS d1_30,
                coalesce(sum(d31_60), 0) AS d31_60, coalesce(sum(d61_90), 0) AS d61_90,
                coalesce(sum(over_90), 0) AS over_90
           FROM listed"""
)


# The unfiltered list, most days overdue first, as the page shows it: the customers come from
# their maintained oldest open due date, so only the shown customers' open sales are read; the
# totals come from what the business is owed per due date (open_dues) and the customers'
# balances. Both are kept by the ledger functions; check-ledger checks them.
_AS_OF = """
    WITH as_of AS (
        SELECT coalesce(CAST(:as_of AS date), (now() AT TIME ZONE timezone)::date) AS today,
               timezone
          FROM businesses
    )
"""
FIRST_ROWS = text(
    _AS_OF
    + f""", shown AS (
        SELECT c.id, c.name, c.phone, c.balance, c.oldest_open_due_on
          FROM customers c, as_of a
         WHERE c.oldest_open_due_on < a.today
         ORDER BY c.oldest_open_due_on, c.name, c.id
         LIMIT :limit OFFSET :offset
    )
    SELECT s.id, s.name, s.phone, s.balance, o.overdue_amount,
           s.oldest_open_due_on AS oldest_due_on, a.today - s.oldest_open_due_on AS days_overdue,
           o.not_due, o.d1_30, o.d31_60, o.d61_90, o.over_90,
           (SELECT (max(pay.created_at) AT TIME ZONE a.timezone)::date
              FROM payments pay WHERE pay.customer_id = s.id) AS last_payment_on
      FROM shown s
     CROSS JOIN as_of a
     CROSS JOIN LATERAL (
        SELECT sum(x.owed) FILTER (WHERE x.late > 0) AS overdue_amount,
               {bucket_sums("x.owed", "x.late")}
          FROM (SELECT o.total - o.returned - o.paid AS owed, a.today - o.due_on AS late
                  FROM orders o WHERE o.customer_id = s.id AND o.paid + o.returned < o.total) x
     ) o
     ORDER BY s.oldest_open_due_on, s.name, s.id"""
)
ALL_TOTALS = text(
    _AS_OF
    + f""", dues AS (
        SELECT {bucket_sums("d.owed", "a.today - d.due_on")}
          FROM open_dues d, as_of a
    ), owing AS (
        SELECT count(*) FILTER (WHERE c.oldest_open_due_on < a.today) AS count,
               coalesce(sum(c.balance) FILTER (WHERE c.oldest_open_due_on < a.today), 0)
                   AS balance,
               -- What customers with nothing overdue owe: all of it is "not yet due".
               coalesce(sum(c.balance) FILTER (WHERE c.oldest_open_due_on >= a.today), 0)
                   AS not_due_elsewhere
          FROM customers c, as_of a
         WHERE c.oldest_open_due_on IS NOT NULL
    )
    SELECT a.today AS as_of, w.count, w.balance,
           d.d1_30 + d.d31_60 + d.d61_90 + d.over_90 AS overdue_amount,
           d.not_due - w.not_due_elsewhere AS not_due,
           d.d1_30, d.d31_60, d.d61_90, d.over_90
      FROM as_of a, dues d, owing w"""
)


def _aging(row: Any) -> dict[str, Decimal]:
    return dict(
        zip(BUCKETS, (row.not_due, row.d1_30, row.d31_60, row.d61_90, row.over_90), strict=True)
    )


def overdue(
    session: Session,
    *,
    min_days: int = 0,
    query: str = "",
    sort: str = "days",
    not_reminded: bool = False,
    limit: int | None = None,
    offset: int = 0,
    as_of: date | None = None,
) -> OverdueReport:
    """Customers with anything overdue as of `as_of` (today in the business's timezone),
    most days overdue first (or largest amount first), with the totals of all of them."""
    params = {
        "as_of": as_of,
        "min_days": max(min_days, 0),
        "pattern": like_pattern(query) if query else None,
        "not_reminded": not_reminded,
    }
    # The page everyone opens: read only what it shows. Anything else reads every open sale.
    unfiltered_page = (
        params["min_days"] == 0 and not query and sort == "days" and not not_reminded and limit
    )
    if unfiltered_page:
        rows = session.execute(FIRST_ROWS, {"as_of": as_of, "limit": limit, "offset": offset})
        totals = session.execute(ALL_TOTALS, {"as_of": as_of}).one()
    else:
        rows = session.execute(
            OVERDUE_ROWS, {**params, "sort": sort, "limit": limit, "offset": offset}
        )
        totals = session.execute(OVERDUE_TOTALS, params).one()
    customers = [
        OverdueCustomer(
            id=row.id,
            name=row.name,
            phone=row.phone,
            balance=row.balance,
            overdue_amount=row.overdue_amount,
            oldest_due_on=row.oldest_due_on,
            days_overdue=row.days_overdue,
            last_payment_on=row.last_payment_on,
            aging=_aging(row),
        )
        for row in rows
    ]
    return OverdueReport(
        totals.as_of,
        customers,
        totals._mapping["count"],
        totals.balance,
        totals.overdue_amount,
        _aging(totals),
    )


@dataclass(frozen=True)
class Dashboard:
    sales_today: int
    sales_today_amount: Decimal
    payments_today: int
    payments_today_amount: Decimal
    total_owed: Decimal
    overdue_amount: Decimal
    overdue_customers: int
    aging: dict[str, Decimal]  # every open sale of every customer: adds up to total_owed
    low_stock: list[Any]  # name, sku, stock of active products at or below the threshold


# From the kept figures, like the overdue list's first page: the home page never reads every
# open sale however long the book.
DASHBOARD = text(
    f"""WITH b AS (
           SELECT (now() AT TIME ZONE timezone)::date AS today,
                  (now() AT TIME ZONE timezone)::date::timestamp AT TIME ZONE timezone AS since
             FROM businesses
       ), dues AS (
           SELECT {bucket_sums("d.owed", "b.today - d.due_on")} FROM open_dues d, b
       )
       SELECT (SELECT count(*) FROM orders o WHERE o.created_at >= b.since) AS sales_today,
              (SELECT coalesce(sum(o.total), 0) FROM orders o WHERE o.created_at >= b.since)
                  AS sales_today_amount,
              (SELECT count(*) FROM payments p WHERE p.created_at >= b.since) AS payments_today,
              (SELECT coalesce(sum(p.amount), 0) FROM payments p WHERE p.created_at >= b.since)
                  AS payments_today_amount,
              (SELECT coalesce(sum(balance), 0) FROM customers) AS total_owed,
              d.d1_30 + d.d31_60 + d.d61_90 + d.over_90 AS overdue_amount,
              (SELECT count(*) FROM customers c WHERE c.oldest_open_due_on < b.today)
                  AS overdue_customers,
              d.not_due, d.d1_30, d.d31_60, d.d61_90, d.over_90
         FROM b, dues d"""
)
LOW_STOCK = text(
    """SELECT p.id, p.name, p.sku, p.stock
         FROM products p JOIN businesses b ON b.id = p.business_id
        WHERE p.is_active AND p.stock <= b.low_stock_threshold
        ORDER BY p.stock, p.name
        LIMIT 20"""
)


def dashboard(session: Session) -> Dashboard:
    row = session.execute(DASHBOARD).one()
    return Dashboard(
        sales_today=row.sales_today,
        sales_today_amount=row.sales_today_amount,
        payments_today=row.payments_today,
        payments_today_amount=row.payments_today_amount,
        total_owed=row.total_owed,
        overdue_amount=row.overdue_amount,
        overdue_customers=row.overdue_customers,
        aging=_aging(row),
        low_stock=list(session.execute(LOW_STOCK)),
    )
