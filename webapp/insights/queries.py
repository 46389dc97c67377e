"""What the reports read: the rollups the ledger functions keep (migration 0022), through the
SQL in webapp/sql/reports/ (which bench/reports.py times as it is). Row-level security limits
every query to the signed-in business, and each names it too (current_business_id()), so the
rollups' keys, which lead with the business, are used."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Date

from webapp.insights.period import Period, month_split
from webapp.ledger import PAYMENT_METHODS

REPORTS_SQL = Path(__file__).resolve().parent.parent / "sql" / "reports"
ZERO = Decimal("0.00")
NO_PRODUCT = uuid.UUID(int=0)  # the rollups' key for sales without items
TOP_CUSTOMERS = 50


@cache
def report_sql(name: str) -> str:
    return (REPORTS_SQL / f"{name}.sql").read_text(encoding="utf-8")


def _query(name: str) -> TextClause:
    return text(report_sql(name))


# --- Sales ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesPeriod:
    period: date
    sales: int
    sold: Decimal
    returns: int
    returned: Decimal

    @property
    def net(self) -> Decimal:
        return self.sold - self.returned


@dataclass(frozen=True)
class ProductSales:
    product_id: uuid.UUID
    name: str | None  # None: sales without items (quick entries)
    sku: str | None
    sold_quantity: int
    sold: Decimal
    returned_quantity: int
    returned: Decimal

    @property
    def net(self) -> Decimal:
        return self.sold - self.returned


@dataclass(frozen=True)
class SalesReport:
    period: Period
    periods: list[SalesPeriod]
    products: list[ProductSales]

    @property
    def total(self) -> SalesPeriod:
        return SalesPeriod(
            self.period.starts,
            sum(p.sales for p in self.periods),
            sum((p.sold for p in self.periods), ZERO),
            sum(p.returns for p in self.periods),
            sum((p.returned for p in self.periods), ZERO),
        )


def sales_by_period(session: Session, period: Period) -> list[SalesPeriod]:
    rows = session.execute(
        _query("sales_by_period"),
        {"period": period.by, "starts": period.starts, "ends": period.ends},
    ).all()
    found = {row.period: row for row in rows}
    return [
        SalesPeriod(
            start,
            found[start].sales,
            found[start].sold,
            found[start].returns,
            found[start].returned,
        )
        if start in found
        else SalesPeriod(start, 0, ZERO, 0, ZERO)
        for start in period.period_starts()
    ]


def sales_by_product(session: Session, period: Period) -> list[ProductSales]:
    rows = session.execute(
        _query("sales_by_product"), month_split(period.starts, period.ends)
    ).all()
    return [
        ProductSales(
            row.product_id,
            None if row.product_id == NO_PRODUCT else row.name,
            row.sku,
            int(row.sold_quantity),
            row.sold,
            int(row.returned_quantity),
            row.returned,
        )
        for row in rows
    ]


def sales_report(session: Session, period: Period) -> SalesReport:
    return SalesReport(period, sales_by_period(session, period), sales_by_product(session, period))


# --- Collections ---------------------------------------------------------------------------


@dataclass
class MethodSum:
    received: Decimal = ZERO
    payments: int = 0
    reversed: Decimal = ZERO
    reversals: int = 0
    refunded: Decimal = ZERO
    refunds: int = 0

    @property
    def kept(self) -> Decimal:
        """Taken and not reversed since: what the cash-up calls kept."""
        return self.received - self.reversed

    def add(self, other: MethodSum) -> None:
        self.received += other.received
        self.payments += other.payments
        self.reversed += other.reversed
        self.reversals += other.reversals
        self.refunded += other.refunded
        self.refunds += other.refunds


@dataclass
class CollectionsPeriod:
    period: date
    methods: dict[str, MethodSum] = field(
        default_factory=lambda: {method: MethodSum() for method in PAYMENT_METHODS}
    )

    @property
    def kept(self) -> Decimal:
        return sum((m.kept for m in self.methods.values()), ZERO)

    @property
    def refunded(self) -> Decimal:
        return sum((m.refunded for m in self.methods.values()), ZERO)

    @property
    def reversed(self) -> Decimal:
        return sum((m.reversed for m in self.methods.values()), ZERO)

    @property
    def net(self) -> Decimal:
        """Kept less refunds: the money that stayed with the shop."""
        return self.kept - self.refunded


@dataclass(frozen=True)
class CollectionsReport:
    period: Period
    periods: list[CollectionsPeriod]

    @property
    def total(self) -> CollectionsPeriod:
        total = CollectionsPeriod(self.period.starts)
        for row in self.periods:
            for method, sums in row.methods.items():
                total.methods[method].add(sums)
        return total


def collections_report(session: Session, period: Period) -> CollectionsReport:
    rows = session.execute(
        _query("collections"),
        {"period": period.by, "starts": period.starts, "ends": period.ends},
    ).all()
    by_start = {start: CollectionsPeriod(start) for start in period.period_starts()}
    for row in rows:
        by_start[row.period].methods[row.method] = MethodSum(
            row.received,
            int(row.payments),
            row.reversed,
            int(row.reversals),
            row.refunded,
            int(row.refunds),
        )
    return CollectionsReport(period, list(by_start.values()))


# --- What is owed, by age, over time -------------------------------------------------------

AGE_BUCKETS = ("not_due", "days_1_30", "days_31_60", "days_61_90", "over_90")


@dataclass(frozen=True)
class OwedPoint:
    point: date
    not_due: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal

    @property
    def buckets(self) -> list[Decimal]:
        return [getattr(self, name) for name in AGE_BUCKETS]

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, ZERO)

    @property
    def overdue(self) -> Decimal:
        return self.total - self.not_due


@dataclass(frozen=True)
class OwedReport:
    period: Period
    points: list[OwedPoint]


_OWED = _query("owed_by_age").bindparams(bindparam("points", type_=ARRAY(Date)))


def owed_report(session: Session, period: Period) -> OwedReport:
    points = period.points()
    rows = session.execute(_OWED, {"points": points, "ends": points[-1]}).all()
    return OwedReport(
        period,
        [
            OwedPoint(
                row.point, row.not_due, row.days_1_30, row.days_31_60, row.days_61_90, row.over_90
            )
            for row in rows
        ],
    )


# --- Who owes the most ---------------------------------------------------------------------


@dataclass(frozen=True)
class TopCustomer:
    id: uuid.UUID
    name: str
    phone: str | None
    balance: Decimal
    credit_limit: Decimal
    oldest_open_due_on: date | None


@dataclass(frozen=True)
class TopCustomers:
    customers: list[TopCustomer]
    owing: int  # customers who owe anything
    owed: Decimal  # what they owe in all


def top_customers(session: Session, limit: int = TOP_CUSTOMERS) -> TopCustomers:
    rows = session.execute(_query("top_customers"), {"limit": limit}).all()
    return TopCustomers(
        [
            TopCustomer(
                row.id, row.name, row.phone, row.balance, row.credit_limit, row.oldest_open_due_on
            )
            for row in rows
        ],
        int(rows[0].owing) if rows else 0,
        rows[0].owed if rows else ZERO,
    )
