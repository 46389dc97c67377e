"""Finding customers (row-level security keeps every query to the signed-in business)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.inputs import parse_uuid
from webapp.listing import like_pattern
from webapp.models import Customer


def find_customers(
    session: Session, query: str, limit: int = 20, *, include_archived: bool = False
) -> list[Customer]:
    """Customers by name or phone; archived ones (who cannot buy) only when asked for."""
    statement = select(Customer)
    if not include_archived:
        statement = statement.where(Customer.is_archived.is_(False))
    if query:
        pattern = like_pattern(query)
        statement = statement.where(
            Customer.name.ilike(pattern, escape="\\") | Customer.phone.ilike(pattern, escape="\\")
        )
    return list(session.scalars(statement.order_by(Customer.name, Customer.id).limit(limit)))


def get_customer(session: Session, customer_id: uuid.UUID) -> Customer | None:
    return session.get(Customer, (session.info["business_id"], customer_id))


def customer_or_404(session: Session, customer_id: Any, *, archived_too: bool = False) -> Customer:
    """The customer a form or link names; 404 for a bad id, another business's customer (which
    row-level security hides), or an archived one unless asked for."""
    parsed = parse_uuid(customer_id)
    customer = get_customer(session, parsed) if parsed else None
    if customer is None or (customer.is_archived and not archived_too):
        abort(404)
    return customer
