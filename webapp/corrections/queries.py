"""What the correction pages read. Row-level security limits every query to the business."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session, joinedload, selectinload

from webapp.models import Order, Return, ReturnItem, User

# Per product of a sale: what was sold and what is still unreturned, in the order entered.
RETURNABLE = text(
    """SELECT i.product_id, p.name, i.quantity AS sold, i.unit_price,
              i.quantity - coalesce(r.quantity, 0) AS returnable
         FROM order_items i
         JOIN products p ON p.business_id = i.business_id AND p.id = i.product_id
         LEFT JOIN (SELECT ri.product_id, sum(ri.quantity) AS quantity
                      FROM return_items ri
                      JOIN returns x ON x.business_id = ri.business_id AND x.id = ri.return_id
                     WHERE x.order_id = :order_id
                     GROUP BY ri.product_id) r ON r.product_id = i.product_id
        WHERE i.order_id = :order_id
        ORDER BY i.line_no"""
)


@dataclass(frozen=True)
class ReturnableLine:
    product_id: uuid.UUID
    name: str
    sold: int
    unit_price: object
    returnable: int


def returnable_lines(session: Session, order_id: uuid.UUID) -> list[ReturnableLine]:
    return [ReturnableLine(*row) for row in session.execute(RETURNABLE, {"order_id": order_id})]


def get_order(session: Session, order_id: uuid.UUID) -> Order | None:
    return session.scalars(
        select(Order).where(Order.id == order_id).options(joinedload(Order.customer))
    ).one_or_none()


@dataclass(frozen=True)
class ReturnReceipt:
    record: Return
    clerk: str
    items: list[ReturnItem]


def get_return(session: Session, return_id: uuid.UUID) -> ReturnReceipt | None:
    row = session.execute(
        select(Return, User.name)
        .outerjoin(User, (User.business_id == Return.business_id) & (User.id == Return.created_by))
        .where(Return.id == return_id)
        .options(
            joinedload(Return.order).joinedload(Order.customer),
            selectinload(Return.items).joinedload(ReturnItem.product),
        )
    ).one_or_none()
    if row is None:
        return None
    record, clerk = row
    items = sorted(record.items, key=lambda item: item.product.name.lower())
    return ReturnReceipt(record, clerk or "", items)
