"""What the sale pages read. Row-level security limits every query to the signed-in business."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session, joinedload, selectinload

from webapp.listing import ListFilter, Listing, Page, fetch_listing, filter_clause
from webapp.models import Order, OrderItem, Product, User


def products_by_id(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Product]:
    """The products a sale form's lines name (row-level security keeps them to this shop)."""
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}


@dataclass(frozen=True)
class Receipt:
    order: Order
    clerk: str
    items: list[OrderItem]


def get_receipt(session: Session, order_id: uuid.UUID) -> Receipt | None:
    """The sale with its customer and the clerk's name (one query), and its lines with their
    products (a second one)."""
    row = session.execute(
        select(Order, User.name)
        .outerjoin(User, (User.business_id == Order.business_id) & (User.id == Order.created_by))
        .where(Order.id == order_id)
        .options(
            joinedload(Order.customer),
            selectinload(Order.items).joinedload(OrderItem.product),
        )
    ).one_or_none()
    if row is None:
        return None
    order, clerk = row
    return Receipt(order, clerk or "", list(order.items))  # in the order entered


_SALES_FROM = f"""
    FROM orders o
    JOIN customers c ON c.business_id = o.business_id AND c.id = o.customer_id
    JOIN users u ON u.business_id = o.business_id AND u.id = o.created_by
    JOIN businesses b ON b.id = o.business_id
   WHERE {filter_clause("o")}
"""
SALES_PAGE = text(
    f"""SELECT o.id, o.number, o.created_at, o.total, o.returned, o.paid, o.due_on, o.customer_id,
               c.name AS customer_name, u.name AS clerk_name
        {_SALES_FROM}
         ORDER BY o.created_at DESC, o.id DESC
         LIMIT :limit OFFSET :offset"""
)
SALES_TOTALS = text(f"SELECT count(*) AS count, coalesce(sum(o.total), 0) AS total {_SALES_FROM}")


def list_sales(session: Session, filters: ListFilter, page: Page) -> Listing:
    return fetch_listing(session, SALES_PAGE, SALES_TOTALS, filters.params(), page)


# A sale this clerk recorded for this customer in the last ten minutes with exactly the same
# lines (product and quantity, lines of one product added up) — or, for a quick entry, the same
# amount and note — under another idempotency key: Back and Record sale again, most likely.
RECENT_TWIN = text(
    """SELECT o.id, o.created_at
         FROM orders o
        WHERE o.customer_id = :customer_id AND o.created_by = :user_id
          AND o.created_at > now() - interval '10 minutes'
          AND o.idempotency_key <> :key
          AND NOT o.is_opening_balance
          AND o.note = :note
          AND (CAST(:amount AS numeric) IS NULL OR o.total = :amount)
          AND (SELECT coalesce(jsonb_object_agg(i.product_id, i.quantity), '{}')
                 FROM order_items i
                WHERE i.business_id = o.business_id AND i.order_id = o.id)
              = CAST(:items AS jsonb)
        ORDER BY o.created_at DESC
        LIMIT 1"""
)


@dataclass(frozen=True)
class Twin:
    order_id: uuid.UUID
    created_at: datetime


def recent_twin(
    session: Session,
    *,
    customer_id: uuid.UUID,
    user_id: uuid.UUID,
    key: uuid.UUID,
    quantities: dict[uuid.UUID, int],
    amount: Decimal | None,
    note: str,
) -> Twin | None:
    row = session.execute(
        RECENT_TWIN,
        {
            "customer_id": customer_id,
            "user_id": user_id,
            "key": key,
            "note": note.strip(),
            "amount": amount,
            "items": json.dumps({str(product): qty for product, qty in quantities.items()}),
        },
    ).one_or_none()
    return Twin(row.id, row.created_at) if row else None
