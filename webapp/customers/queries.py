"""Finding customers (row-level security keeps every query to the signed-in business)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import abort
from sqlalchemy import TextClause, func, select, text
from sqlalchemy.orm import Session

from webapp.inputs import parse_uuid
from webapp.listing import Listing, Page, fetch_listing, like_pattern
from webapp.models import Customer


@dataclass(frozen=True)
class Found:
    """The first customers matching a search, and how many match in all."""

    customers: list[Customer]
    count: int

    @property
    def more(self) -> bool:
        return self.count > len(self.customers)


def find_customers(
    session: Session, query: str, limit: int = 20, *, include_archived: bool = False
) -> Found:
    """Customers by name or phone, the first `limit` by name and the count of all that match;
    archived ones (who cannot buy) only when asked for."""
    statement = select(Customer, func.count().over())
    if not include_archived:
        statement = statement.where(Customer.is_archived.is_(False))
    if query:
        pattern = like_pattern(query)
        statement = statement.where(
            Customer.name.ilike(pattern, escape="\\") | Customer.phone.ilike(pattern, escape="\\")
        )
    rows = session.execute(statement.order_by(Customer.name, Customer.id).limit(limit)).all()
    return Found([customer for customer, _ in rows], rows[0][1] if rows else 0)


def get_customer(session: Session, customer_id: uuid.UUID) -> Customer | None:
    return session.get(Customer, (session.info["business_id"], customer_id))


def customer_with_key(session: Session, key: uuid.UUID) -> Customer | None:
    """The customer a page's or client's idempotency key made, if any."""
    return session.scalars(select(Customer).where(Customer.idempotency_key == key)).one_or_none()


def customer_or_404(session: Session, customer_id: Any, *, archived_too: bool = False) -> Customer:
    """The customer a form or link names; 404 for a bad id, another business's customer (which
    row-level security hides), or an archived one unless asked for."""
    parsed = parse_uuid(customer_id)
    customer = get_customer(session, parsed) if parsed else None
    if customer is None or (customer.is_archived and not archived_too):
        abort(404)
    return customer


# How the customer list may be sorted: a fixed ORDER BY per choice (never text from a request),
# each ending in the id so that pages never repeat or skip a customer.
SORTS = {
    "name": "lower(c.name), c.id",
    "name_desc": "lower(c.name) DESC, c.id DESC",
    "balance_desc": "c.balance DESC, lower(c.name), c.id",
    "balance": "c.balance, lower(c.name), c.id",
}
_LIST_FROM = """
    FROM customers c
   WHERE (CAST(:include_archived AS boolean) OR NOT c.is_archived)
     AND (CAST(:pattern AS text) IS NULL
          OR c.name ILIKE :pattern ESCAPE '\\' OR c.phone ILIKE :pattern ESCAPE '\\')"""
_LIST_PAGES: dict[str, TextClause] = {
    sort: text(
        f"""SELECT c.id, c.name, c.phone, c.email, c.credit_limit, c.balance, c.is_archived,
                   greatest(c.credit_limit - c.balance, 0) AS available_credit
            {_LIST_FROM}
             ORDER BY {order}
             LIMIT :limit OFFSET :offset"""
    )
    for sort, order in SORTS.items()
}
_LIST_TOTALS = text(f"SELECT count(*) AS count, coalesce(sum(c.balance), 0) AS total {_LIST_FROM}")


def list_customers(
    session: Session,
    page: Page,
    *,
    query: str = "",
    sort: str = "name",
    include_archived: bool = False,
) -> Listing:
    """One page of customers matching `query` (name or phone), the count of all that match
    and what they owe together. Archived customers only when asked for."""
    params = {
        "include_archived": include_archived,
        "pattern": like_pattern(query) if query else None,
    }
    rows_sql = _LIST_PAGES.get(sort, _LIST_PAGES["name"])
    return fetch_listing(session, rows_sql, _LIST_TOTALS, params, page)


# Everything held about one customer, for their copy (the owner downloads it as JSON): their
# details, every sale with its lines, every payment with what it paid, every return.
EXPORT_SALES = text(
    """SELECT o.id, o.number, o.created_at, o.due_on, o.total, o.returned, o.paid, o.note,
              o.is_opening_balance,
              coalesce((SELECT jsonb_agg(jsonb_build_object(
                                   'product', p.name, 'quantity', i.quantity,
                                   'unit_price', i.unit_price) ORDER BY i.line_no)
                          FROM order_items i
                          JOIN products p ON p.business_id = i.business_id
                                         AND p.id = i.product_id
                         WHERE i.business_id = o.business_id AND i.order_id = o.id),
                       '[]') AS lines
         FROM orders o
        WHERE o.customer_id = :customer_id
        ORDER BY o.created_at, o.id"""
)
EXPORT_PAYMENTS = text(
    """SELECT p.id, p.number, p.created_at, p.amount, p.method, p.note,
              (SELECT v.created_at FROM payment_reversals v
                WHERE v.business_id = p.business_id AND v.payment_id = p.id) AS reversed_at,
              coalesce((SELECT jsonb_agg(jsonb_build_object('sale', a.order_id,
                                                            'amount', a.amount)
                                         ORDER BY a.order_id)
                          FROM payment_allocations a
                         WHERE a.business_id = p.business_id AND a.payment_id = p.id),
                       '[]') AS paid_sales
         FROM payments p
        WHERE p.customer_id = :customer_id
        ORDER BY p.created_at, p.id"""
)


EXPORT_RETURNS = text(
    """SELECT x.id, x.number, x.order_id, x.created_at, x.is_void, x.amount, x.refund,
              x.refund_method, x.reason
         FROM returns x
        WHERE x.customer_id = :customer_id
        ORDER BY x.created_at, x.id"""
)


def export_customer(session: Session, customer: Customer) -> dict[str, Any]:
    params = {"customer_id": customer.id}
    return {
        "customer": {
            "id": str(customer.id),
            "name": customer.name,
            "phone": customer.phone,
            "email": customer.email,
            "notes": customer.notes,
            "credit_limit": str(customer.credit_limit),
            "balance": str(customer.balance),
            "archived": customer.is_archived,
            "erased_at": customer.erased_at.isoformat() if customer.erased_at else None,
            "created_at": customer.created_at.isoformat(),
        },
        "sales": [
            {
                "id": str(row.id),
                "number": row.number,
                "created_at": row.created_at.isoformat(),
                "due_on": row.due_on.isoformat(),
                "total": str(row.total),
                "returned": str(row.returned),
                "paid": str(row.paid),
                "note": row.note,
                "carried_over": row.is_opening_balance,
                "lines": row.lines,
            }
            for row in session.execute(EXPORT_SALES, params)
        ],
        "payments": [
            {
                "id": str(row.id),
                "number": row.number,
                "created_at": row.created_at.isoformat(),
                "amount": str(row.amount),
                "method": row.method,
                "note": row.note,
                "paid_sales": row.paid_sales,
                "reversed_at": row.reversed_at.isoformat() if row.reversed_at else None,
            }
            for row in session.execute(EXPORT_PAYMENTS, params)
        ],
        "returns": [
            {
                "id": str(row.id),
                "number": row.number,
                "sale": str(row.order_id),
                "created_at": row.created_at.isoformat(),
                "void": row.is_void,
                "amount": str(row.amount),
                "refund": str(row.refund),
                "refund_method": row.refund_method,
                "reason": row.reason,
            }
            for row in session.execute(EXPORT_RETURNS, params)
        ],
    }
