"""What the cash-up reads: one day of the shop (in its timezone), for everyone or one person.
Row-level security limits every query to the signed-in business.

Every figure is a sum over one of the lists the page shows under it, so each can be checked
against its list line by line."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from webapp.ledger import PAYMENT_METHODS

ZERO = Decimal("0.00")

# The day's bounds in the shop's timezone, and the one person asked for (NULL: everyone).
_DAY = """
    WITH day AS (
        SELECT CAST(:day AS date)::timestamp AT TIME ZONE timezone AS starts,
               (CAST(:day AS date) + 1)::timestamp AT TIME ZONE timezone AS ends
          FROM businesses
    )
"""
_WHO = "(CAST(:user_id AS uuid) IS NULL OR {alias}.created_by = CAST(:user_id AS uuid))"

PAYMENTS = text(
    _DAY
    + f"""SELECT p.id, p.number, p.created_at, p.created_by, u.name AS clerk, c.name AS customer,
                 p.method, p.amount,
                 EXISTS (SELECT FROM payment_reversals v
                          WHERE v.business_id = p.business_id AND v.payment_id = p.id) AS reversed
            FROM day
           CROSS JOIN payments p
            JOIN customers c ON c.business_id = p.business_id AND c.id = p.customer_id
            JOIN users u ON u.business_id = p.business_id AND u.id = p.created_by
           WHERE p.created_at >= day.starts AND p.created_at < day.ends
             AND {_WHO.format(alias="p")}
           ORDER BY p.created_at, p.number"""
)
SALES = text(
    _DAY
    + f"""SELECT o.id, o.number, o.created_at, o.created_by, u.name AS clerk, c.name AS customer,
                 o.total, o.note, o.is_opening_balance,
                 NOT EXISTS (SELECT FROM order_items i
                              WHERE i.business_id = o.business_id AND i.order_id = o.id)
                     AND NOT o.is_opening_balance AS is_quick
            FROM day
           CROSS JOIN orders o
            JOIN customers c ON c.business_id = o.business_id AND c.id = o.customer_id
            JOIN users u ON u.business_id = o.business_id AND u.id = o.created_by
           WHERE o.created_at >= day.starts AND o.created_at < day.ends
             AND {_WHO.format(alias="o")}
           ORDER BY o.created_at, o.number"""
)
RETURNS = text(
    _DAY
    + f"""SELECT x.id, x.number, x.created_at, x.created_by, u.name AS clerk, c.name AS customer,
                 x.order_id, o.number AS order_number, x.is_void, x.amount, x.refund,
                 x.refund_method, x.reason
            FROM day
           CROSS JOIN returns x
            JOIN customers c ON c.business_id = x.business_id AND c.id = x.customer_id
            JOIN users u ON u.business_id = x.business_id AND u.id = x.created_by
            JOIN orders o ON o.business_id = x.business_id AND o.id = x.order_id
           WHERE x.created_at >= day.starts AND x.created_at < day.ends
             AND {_WHO.format(alias="x")}
           ORDER BY x.created_at, x.number"""
)
REVERSALS = text(
    _DAY
    + f"""SELECT p.id AS payment_id, p.number, v.created_at, v.created_by, u.name AS clerk,
                 c.name AS customer, p.method, p.amount, v.reason
            FROM day
           CROSS JOIN payment_reversals v
            JOIN payments p ON p.business_id = v.business_id AND p.id = v.payment_id
            JOIN customers c ON c.business_id = p.business_id AND c.id = p.customer_id
            JOIN users u ON u.business_id = v.business_id AND u.id = v.created_by
           WHERE v.created_at >= day.starts AND v.created_at < day.ends
             AND {_WHO.format(alias="v")}
           ORDER BY v.created_at"""
)
COUNTS = text(
    """SELECT d.id, d.user_id, u.name AS clerk, d.float_amount, d.expected, d.counted,
              d.counted - d.expected AS difference, d.note, d.created_at,
              w.name AS counted_by
         FROM drawer_counts d
         JOIN users u ON u.business_id = d.business_id AND u.id = d.user_id
         JOIN users w ON w.business_id = d.business_id AND w.id = d.created_by
        WHERE d.day = :day
          AND (CAST(:user_id AS uuid) IS NULL OR d.user_id = CAST(:user_id AS uuid))
        ORDER BY d.created_at"""
)


@dataclass(frozen=True)
class Line:
    """One row of the day, as the CSV writes it."""

    what: str
    number: int
    at: datetime
    customer: str
    by: str
    method: str
    amount: Decimal
    note: str = ""


@dataclass(frozen=True)
class Sum:
    count: int = 0
    amount: Decimal = ZERO

    def __add__(self, other: Sum) -> Sum:
        return Sum(self.count + other.count, self.amount + other.amount)


@dataclass
class CashUp:
    day: date
    user_id: uuid.UUID | None  # one person's, or everyone's
    payments: list[Row[Any]]
    sales: list[Row[Any]]
    returns: list[Row[Any]]
    reversals: list[Row[Any]]
    counts: list[Row[Any]]
    by_method: dict[str, Sum] = field(default_factory=dict)  # payments kept, by method
    by_clerk: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # clerk → method → kept

    @property
    def received(self) -> Sum:
        """Every payment taken that day, reversed since or not."""
        return sum((Sum(1, p.amount) for p in self.payments), Sum())

    @property
    def reversed_since(self) -> Sum:
        """Of those, the ones reversed since (a bounced cheque, the wrong customer)."""
        return sum((Sum(1, p.amount) for p in self.payments if p.reversed), Sum())

    @property
    def kept(self) -> Sum:
        return sum(self.by_method.values(), Sum())

    @property
    def refunds(self) -> dict[str, Sum]:
        found: dict[str, Sum] = defaultdict(Sum)
        for r in self.returns:
            if r.refund:
                found[r.refund_method] += Sum(1, r.refund)
        return dict(found)

    @property
    def refunded(self) -> Sum:
        return sum(self.refunds.values(), Sum())

    def _sales(self, kind: str) -> Sum:
        def matches(o: Row[Any]) -> bool:
            if kind == "opening":
                return bool(o.is_opening_balance)
            return not o.is_opening_balance and bool(o.is_quick) == (kind == "quick")

        return sum((Sum(1, o.total) for o in self.sales if matches(o)), Sum())

    @property
    def sales_with_items(self) -> Sum:
        return self._sales("items")

    @property
    def quick_entries(self) -> Sum:
        return self._sales("quick")

    @property
    def opening_balances(self) -> Sum:
        return self._sales("opening")

    @property
    def returned(self) -> Sum:
        return sum((Sum(1, r.amount) for r in self.returns), Sum())

    @property
    def reversals_recorded(self) -> Sum:
        return sum((Sum(1, v.amount) for v in self.reversals), Sum())

    def lines(self) -> Iterator[Line]:
        """Every payment, sale, return (and its refund) and reversal of the day, by kind."""
        for p in self.payments:
            what = "Payment (reversed since)" if p.reversed else "Payment"
            yield Line(what, p.number, p.created_at, p.customer, p.clerk, p.method, p.amount)
        for o in self.sales:
            what = "Sale"
            if o.is_opening_balance:
                what = "Opening balance"
            elif o.is_quick:
                what = "Quick entry"
            yield Line(what, o.number, o.created_at, o.customer, o.clerk, "", o.total, o.note)
        for r in self.returns:
            what = "Void" if r.is_void else "Return"
            yield Line(what, r.number, r.created_at, r.customer, r.clerk, "", r.amount, r.reason)
            if r.refund:
                method = r.refund_method or ""
                yield Line("Refund", r.number, r.created_at, r.customer, r.clerk, method, r.refund)
        for v in self.reversals:
            yield Line(
                "Payment reversed",
                v.number,
                v.created_at,
                v.customer,
                v.clerk,
                v.method,
                v.amount,
                v.reason,
            )

    @property
    def net_change(self) -> Decimal:
        """What customers owe at the end of the day less what they owed at its start (for the
        person asked for: what their work changed): sales, less returns, plus refunds (money
        given back), less payments taken, plus payments reversed that day."""
        charged = sum((o.total for o in self.sales), ZERO)
        return (
            charged
            - self.returned.amount
            + self.refunded.amount
            - self.received.amount
            + self.reversals_recorded.amount
        )


def cash_up(session: Session, day: date, user_id: uuid.UUID | None) -> CashUp:
    params = {"day": day, "user_id": user_id}
    found = CashUp(
        day,
        user_id,
        list(session.execute(PAYMENTS, params)),
        list(session.execute(SALES, params)),
        list(session.execute(RETURNS, params)),
        list(session.execute(REVERSALS, params)),
        list(session.execute(COUNTS, params)),
    )
    by_method: dict[str, Sum] = {method: Sum() for method in PAYMENT_METHODS}
    by_clerk: dict[str, dict[str, Decimal]] = {}
    for p in found.payments:
        if p.reversed:
            continue
        by_method[p.method] += Sum(1, p.amount)
        row = by_clerk.setdefault(p.clerk, dict.fromkeys(PAYMENT_METHODS, ZERO))
        row[p.method] += p.amount
    found.by_method = {m: s for m, s in by_method.items() if s.count}
    found.by_clerk = by_clerk
    return found


def expected_cash(
    session: Session, day: date, user_id: uuid.UUID, float_amount: Decimal
) -> Decimal:
    """What a person's drawer should hold at the end of the day: the float, plus the cash they
    took (payments not reversed), less the cash they refunded."""
    day_of = cash_up(session, day, user_id)
    cash_in = day_of.by_method.get("cash", Sum()).amount
    cash_out = day_of.refunds.get("cash", Sum()).amount
    return float_amount + cash_in - cash_out
