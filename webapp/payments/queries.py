"""What the payment pages read. Row-level security limits every query to the business."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from webapp.models import Payment, User
from webapp.paging import Page, like_pattern, page_of


@dataclass(frozen=True)
class PaymentReceipt:
    payment: Payment
    clerk: str
    allocations: list[Row[Any]]  # order_id, amount, order_created_at, due_on, total


ALLOCATIONS = text(
    """SELECT a.order_id, a.amount, o.created_at AS order_created_at, o.due_on, o.total
         FROM payment_allocations a JOIN orders o ON o.id = a.order_id
        WHERE a.payment_id = :payment_id
        ORDER BY o.due_on, o.created_at, o.id"""
)


def get_receipt(session: Session, payment_id: uuid.UUID) -> PaymentReceipt | None:
    payment = session.scalars(select(Payment).where(Payment.id == payment_id)).one_or_none()
    if payment is None:
        return None
    clerk = session.scalar(select(User.name).where(User.id == payment.created_by))
    allocations = list(session.execute(ALLOCATIONS, {"payment_id": payment_id}))
    return PaymentReceipt(payment, clerk or "", allocations)


@dataclass(frozen=True)
class PaymentsFilter:
    customer_id: uuid.UUID | None = None
    customer_query: str = ""
    method: str | None = None
    date_from: date | None = None  # in the business's timezone, inclusive
    date_to: date | None = None

    def params(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "pattern": like_pattern(self.customer_query) if self.customer_query else None,
            "method": self.method,
            "date_from": self.date_from,
            "date_to": self.date_to,
        }


_PAYMENTS_WHERE = """
    FROM payments p
    JOIN customers c ON c.business_id = p.business_id AND c.id = p.customer_id
    JOIN users u ON u.business_id = p.business_id AND u.id = p.created_by
    JOIN businesses b ON b.id = p.business_id
   WHERE (CAST(:customer_id AS uuid) IS NULL OR p.customer_id = :customer_id)
     AND (CAST(:pattern AS text) IS NULL
          OR c.name ILIKE :pattern ESCAPE '\\' OR c.phone ILIKE :pattern ESCAPE '\\')
     AND (CAST(:method AS text) IS NULL OR p.method = :method)
     AND (CAST(:date_from AS date) IS NULL
          OR p.created_at >= CAST(:date_from AS date)::timestamp AT TIME ZONE b.timezone)
     AND (CAST(:date_to AS date) IS NULL
          OR p.created_at < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE b.timezone)
"""
PAYMENTS_PAGE = text(
    f"""SELECT p.id, p.created_at, p.amount, p.method, p.customer_id,
               c.name AS customer_name, u.name AS clerk_name
        {_PAYMENTS_WHERE}
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT :limit OFFSET :offset"""
)
PAYMENTS_TOTALS = text(
    f"SELECT count(*) AS count, coalesce(sum(p.amount), 0) AS total {_PAYMENTS_WHERE}"
)


@dataclass(frozen=True)
class PaymentsList:
    rows: list[Row[Any]]
    page: Page
    count: int
    total: Decimal


def list_payments(session: Session, filters: PaymentsFilter, page: Page) -> PaymentsList:
    params = filters.params()
    rows = session.execute(
        PAYMENTS_PAGE, {**params, "limit": page.size + 1, "offset": page.offset}
    ).all()
    totals = session.execute(PAYMENTS_TOTALS, params).one()
    shown, page = page_of(list(rows), page)
    return PaymentsList(shown, page, totals.count, totals.total)
