"""What the sale pages read. Row-level security limits every query to the signed-in business."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

from webapp.listing import ListFilter, Listing, Page, fetch_listing, filter_clause
from webapp.models import Order, OrderItem, Product, User


def sellable_products(session: Session) -> list[Product]:
    statement = select(Product).where(Product.is_active.is_(True)).order_by(Product.name)
    return list(session.scalars(statement))


@dataclass(frozen=True)
class Receipt:
    order: Order
    clerk: str
    items: list[OrderItem]


def get_receipt(session: Session, order_id: uuid.UUID) -> Receipt | None:
    order = session.scalars(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.items).selectinload(OrderItem.product))
    ).one_or_none()
    if order is None:
        return None
    clerk = session.scalar(
        select(User.name).where(User.business_id == order.business_id, User.id == order.created_by)
    )
    items = sorted(order.items, key=lambda item: item.product.name)
    return Receipt(order, clerk or "", items)


_SALES_FROM = f"""
    FROM orders o
    JOIN customers c ON c.business_id = o.business_id AND c.id = o.customer_id
    JOIN users u ON u.business_id = o.business_id AND u.id = o.created_by
    JOIN businesses b ON b.id = o.business_id
   WHERE {filter_clause("o")}
"""
SALES_PAGE = text(
    f"""SELECT o.id, o.created_at, o.total, o.paid, o.due_on, o.customer_id,
               c.name AS customer_name, u.name AS clerk_name
        {_SALES_FROM}
         ORDER BY o.created_at DESC, o.id DESC
         LIMIT :limit OFFSET :offset"""
)
SALES_TOTALS = text(f"SELECT count(*) AS count, coalesce(sum(o.total), 0) AS total {_SALES_FROM}")


def list_sales(session: Session, filters: ListFilter, page: Page) -> Listing:
    return fetch_listing(session, SALES_PAGE, SALES_TOTALS, filters.params(), page)
