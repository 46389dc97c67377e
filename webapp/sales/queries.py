"""What the sale pages read. Row-level security limits every query to the signed-in business."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session, selectinload

from webapp.models import Order, OrderItem, Product, User
from webapp.paging import Page, like_pattern, page_of


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


@dataclass(frozen=True)
class SalesFilter:
    customer_id: uuid.UUID | None = None
    customer_query: str = ""
    date_from: date | None = None  # in the business's timezone, inclusive
    date_to: date | None = None

    def params(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "pattern": like_pattern(self.customer_query) if self.customer_query else None,
            "date_from": self.date_from,
            "date_to": self.date_to,
        }


_SALES_WHERE = """
    FROM orders o
    JOIN customers c ON c.business_id = o.business_id AND c.id = o.customer_id
    JOIN users u ON u.business_id = o.business_id AND u.id = o.created_by
    JOIN businesses b ON b.id = o.business_id
   WHERE (CAST(:customer_id AS uuid) IS NULL OR o.customer_id = :customer_id)
     AND (CAST(:pattern AS text) IS NULL
          OR c.name ILIKE :pattern ESCAPE '\\' OR c.phone ILIKE :pattern ESCAPE '\\')
     AND (CAST(:date_from AS date) IS NULL
          OR o.created_at >= CAST(:date_from AS date)::timestamp AT TIME ZONE b.timezone)
     AND (CAST(:date_to AS date) IS NULL
          OR o.created_at < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE b.timezone)
"""

SALES_PAGE = text(
    f"""SELECT o.id, o.created_at, o.total, o.paid, o.due_on, o.customer_id,
               c.name AS customer_name, u.name AS clerk_name
        {_SALES_WHERE}
         ORDER BY o.created_at DESC, o.id DESC
         LIMIT :limit OFFSET :offset"""
)
SALES_TOTALS = text(f"SELECT count(*) AS count, coalesce(sum(o.total), 0) AS total {_SALES_WHERE}")


@dataclass(frozen=True)
class SalesList:
    rows: list[Row[Any]]
    page: Page
    count: int
    total: Decimal


def list_sales(session: Session, filters: SalesFilter, page: Page) -> SalesList:
    params = filters.params()
    rows = session.execute(
        SALES_PAGE, {**params, "limit": page.size + 1, "offset": page.offset}
    ).all()
    totals = session.execute(SALES_TOTALS, params).one()
    shown, page = page_of(list(rows), page)
    return SalesList(shown, page, totals.count, totals.total)
