"""Adding and editing products: one path for the pages and the API, so both say the same thing
about the same mistake (the rules themselves are `webapp.catalog`'s)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from webapp import catalog
from webapp.models import Product
from webapp.products.queries import get_product, product_with_sku

SKU_INDEX = "products_sku_key"  # the unique index on (business_id, lower(sku))
LOCK_NOT_AVAILABLE = "55P03"  # waited longer than lock_timeout (a sale holding the product)
BUSY = "Someone is selling this product right now. Nothing was changed; try again."


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def _constraint(error: DBAPIError) -> str | None:
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def sku_message(holder: Product) -> str:
    return f"{holder.name} already has this SKU; each product needs its own."


@dataclass(frozen=True)
class Outcome:
    """What became of a new product or an edit: the product, or what was wrong."""

    product: Product | None = None
    created: bool = False  # False for an edit, or a creation sent again with the same key
    problems: dict[str, str] = field(default_factory=dict)
    holder: Product | None = None  # the product that already has the SKU asked for

    @property
    def ok(self) -> bool:
        return self.product is not None


def _sku_conflict(
    session: Session, sku: str | None, *, except_id: uuid.UUID | None = None
) -> Outcome:
    holder = product_with_sku(session, sku, except_id=except_id)
    if holder is None:  # it was archived away or renamed in the meantime: say it plainly
        return Outcome(problems={"sku": "Another product already has this SKU."})
    return Outcome(problems={"sku": sku_message(holder)}, holder=holder)


def add_product(
    session: Session, raw: Mapping[str, Any], *, user_id: uuid.UUID, key: uuid.UUID
) -> Outcome:
    """Create the product `raw` describes, with the idempotency key as its id, and commit.

    A key seen before answers with that product, unchanged (a double click, a till resending);
    a SKU already used (ignoring case) is refused with the product that has it, also when two
    requests race for it (the unique index decides, and its refusal is turned into the same
    answer instead of an error)."""
    existing = get_product(session, key)
    if existing is not None:
        return Outcome(existing)
    fields, problems = catalog.product_fields(raw)
    if fields is None:
        return Outcome(problems=problems)
    if catalog.sku_taken(session, fields.sku):
        return _sku_conflict(session, fields.sku)
    try:
        product = catalog.create_product(session, fields, user_id=user_id, product_id=key)
        session.commit()
    except IntegrityError as error:
        session.rollback()
        existing = get_product(session, key)
        if existing is not None:  # the same form or request, committed meanwhile
            return Outcome(existing)
        if _constraint(error) == SKU_INDEX:
            return _sku_conflict(session, fields.sku)
        raise
    except DBAPIError as error:
        session.rollback()
        if _sqlstate(error) == LOCK_NOT_AVAILABLE:
            return Outcome(problems={"": BUSY})
        raise
    return Outcome(product, created=True)


def edit_product(session: Session, product: Product, raw: Mapping[str, Any]) -> Outcome:
    """Change the name, SKU and price, and commit. The stock is never written here (a sale may
    be changing it right now); past sales keep the price they were made at (order_items)."""
    fields, problems = catalog.product_fields(raw, with_stock=False)
    if fields is None:
        return Outcome(problems=problems)
    if catalog.sku_taken(session, fields.sku, except_id=product.id):
        return _sku_conflict(session, fields.sku, except_id=product.id)
    statement = (
        update(Product)
        .where(Product.business_id == product.business_id, Product.id == product.id)
        .values(name=fields.name, sku=fields.sku, price=fields.price)
        .execution_options(synchronize_session=False)
    )
    try:
        session.execute(statement)
        session.commit()
    except IntegrityError as error:
        session.rollback()
        if _constraint(error) == SKU_INDEX:
            return _sku_conflict(session, fields.sku, except_id=product.id)
        raise
    except DBAPIError as error:
        session.rollback()
        if _sqlstate(error) == LOCK_NOT_AVAILABLE:
            return Outcome(problems={"": BUSY})
        raise
    return Outcome(get_product(session, product.id))


def set_active(session: Session, product: Product, *, active: bool) -> str | None:
    """Archive (no longer for sale) or bring back a product, and commit; a message if busy."""
    statement = (
        update(Product)
        .where(Product.business_id == product.business_id, Product.id == product.id)
        .values(is_active=active)
        .execution_options(synchronize_session=False)
    )
    try:
        session.execute(statement)
        session.commit()
    except DBAPIError as error:
        session.rollback()
        if _sqlstate(error) == LOCK_NOT_AVAILABLE:
            return BUSY
        raise
    return None
