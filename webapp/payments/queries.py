"""What the payment pages read. Row-level security limits every query to the business."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from webapp.listing import ListFilter, Listing, Page, fetch_listing, filter_clause
from webapp.models import Payment, User


@dataclass(frozen=True)
class PaymentReceipt:
    payment: Payment
    clerk: str
    allocations: list[Row[Any]]  # order_id, amount, order_created_at, due_on, total, order_number
    refunds: list[Row[Any]]  # return_id, number, amount: what returns gave back of it


ALLOCATIONS = text(
    """SELECT a.order_id, a.amount, o.created_at AS order_created_at, o.due_on, o.total,
              o.number AS order_number
         FROM payment_allocations a JOIN orders o ON o.id = a.order_id
        WHERE a.payment_id = :payment_id
        ORDER BY o.due_on, o.created_at, o.id"""
)


REFUNDS = text(
    """SELECT x.id AS return_id, x.number, s.amount
         FROM refund_sources s JOIN returns x ON x.business_id = s.business_id
                                            AND x.id = s.return_id
        WHERE s.payment_id = :payment_id
        ORDER BY x.number"""
)


def get_receipt(session: Session, payment_id: uuid.UUID) -> PaymentReceipt | None:
    payment = session.scalars(select(Payment).where(Payment.id == payment_id)).one_or_none()
    if payment is None:
        return None
    clerk = session.scalar(select(User.name).where(User.id == payment.created_by))
    allocations = list(session.execute(ALLOCATIONS, {"payment_id": payment_id}))
    refunds = list(session.execute(REFUNDS, {"payment_id": payment_id}))
    return PaymentReceipt(payment, clerk or "", allocations, refunds)


@dataclass(frozen=True)
class PaymentsFilter(ListFilter):
    method: str | None = None

    def params(self) -> dict[str, Any]:
        return {**super().params(), "method": self.method}


_PAYMENTS_FROM = f"""
    FROM payments p
    JOIN customers c ON c.business_id = p.business_id AND c.id = p.customer_id
    JOIN users u ON u.business_id = p.business_id AND u.id = p.created_by
    JOIN businesses b ON b.id = p.business_id
   WHERE {filter_clause("p")}
     AND (CAST(:method AS text) IS NULL OR p.method = :method)
"""
PAYMENTS_PAGE = text(
    f"""SELECT p.id, p.number, p.created_at, p.amount, p.method, p.customer_id,
               c.name AS customer_name, u.name AS clerk_name,
               EXISTS (SELECT FROM payment_reversals v
                        WHERE v.business_id = p.business_id AND v.payment_id = p.id) AS reversed
        {_PAYMENTS_FROM}
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT :limit OFFSET :offset"""
)
# The total is what was received and stands: reversed payments are listed, not counted in it.
PAYMENTS_TOTALS = text(
    f"""SELECT count(*) AS count,
               coalesce(sum(p.amount) FILTER (WHERE NOT EXISTS (
                   SELECT FROM payment_reversals v
                    WHERE v.business_id = p.business_id AND v.payment_id = p.id)), 0) AS total
        {_PAYMENTS_FROM}"""
)


def list_payments(session: Session, filters: PaymentsFilter, page: Page) -> Listing:
    return fetch_listing(session, PAYMENTS_PAGE, PAYMENTS_TOTALS, filters.params(), page)
