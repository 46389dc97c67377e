"""What a customer owes and how it came about: open sales, overdue amounts, statements.

Every query runs as the app role with the business bound, so row-level security keeps it to
that business. "Today" is today in the business's timezone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

ZERO = Decimal("0.00")

TODAY = text("SELECT (now() AT TIME ZONE timezone)::date FROM businesses")


def business_today(session: Session) -> date:
    return session.execute(TODAY).scalar_one()


@dataclass(frozen=True)
class OpenSale:
    order_id: uuid.UUID
    created_at: datetime
    due_on: date
    total: Decimal
    owed: Decimal
    days_overdue: int  # 0 when not yet due


OPEN_SALES = text(
    """SELECT o.id, o.created_at, o.due_on, o.total, o.total - o.paid AS owed,
              greatest((now() AT TIME ZONE b.timezone)::date - o.due_on, 0) AS days_overdue
         FROM orders o JOIN businesses b ON b.id = o.business_id
        WHERE o.customer_id = :customer_id AND o.paid < o.total
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
    kind: str  # "sale" or "payment"
    id: uuid.UUID
    due_on: date | None  # a sale's due date
    method: str | None  # how a payment was made
    charge: Decimal  # what a sale added
    payment: Decimal  # what a payment took off
    balance: Decimal  # running balance after this line


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
        SELECT o.created_at AS at, 'sale' AS kind, o.id, o.total AS amount, o.due_on,
               NULL AS method
          FROM orders o WHERE o.customer_id = :customer_id
        UNION ALL
        SELECT p.created_at, 'payment', p.id, -p.amount, NULL, p.method
          FROM payments p WHERE p.customer_id = :customer_id
    )
"""
OPENING = text(
    _MOVEMENTS
    + "SELECT coalesce(sum(m.amount), 0) FROM movements m, bounds WHERE m.at < bounds.starts"
)
LINES = text(
    _MOVEMENTS
    + """SELECT m.at, m.kind, m.id, m.amount, m.due_on, m.method FROM movements m, bounds
          WHERE m.at >= bounds.starts AND m.at < bounds.ends
          ORDER BY m.at, m.kind DESC, m.id"""
)


def statement(
    session: Session, customer_id: uuid.UUID, date_from: date, date_to: date
) -> Statement:
    """Opening balance, every sale and payment from `date_from` to `date_to` (inclusive, in
    the business's timezone) with a running balance; the closing balance is the last one."""
    params = {"customer_id": customer_id, "date_from": date_from, "date_to": date_to}
    balance = session.execute(OPENING, params).scalar_one()
    opening = balance
    lines = []
    for at, kind, row_id, amount, due_on, method in session.execute(LINES, params):
        balance += amount
        charge, payment = (amount, ZERO) if amount > 0 else (ZERO, -amount)
        lines.append(StatementLine(at, kind, row_id, due_on, method, charge, payment, balance))
    return Statement(date_from, date_to, opening, lines)
