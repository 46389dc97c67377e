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
from webapp.db import LOCK_NOT_AVAILABLE, constraint_name, create_once, sqlstate
from webapp.models import Product
from webapp.products.queries import get_product, product_with_sku

BUSY = "Someone is selling this product right now. Nothing was changed; try again."


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

    A key seen before answers with that product, unchanged (a double click, a till resending).
    A SKU already used (ignoring case) is refused with the product that has it: the unique index
    decides, so two requests racing for one SKU get that answer too, never an error."""
    fields, problems = catalog.product_fields(raw)
    if fields is None:
        return Outcome(problems=problems)
    try:
        product, created = create_once(
            session,
            lambda: get_product(session, key),
            lambda: catalog.create_product(session, fields, user_id=user_id, product_id=key),
        )
    except DBAPIError as error:
        return _refused(session, error, fields.sku)
    return Outcome(product, created=created)


def edit_product(session: Session, product: Product, raw: Mapping[str, Any]) -> Outcome:
    """Change the name, SKU and price, and commit. The stock is never written here (a sale may
    be changing it right now); past sales keep the price they were made at (order_items)."""
    fields, problems = catalog.product_fields(raw, with_stock=False)
    if fields is None:
        return Outcome(problems=problems)
    try:
        _update(session, product, name=fields.name, sku=fields.sku, price=fields.price)
    except DBAPIError as error:
        return _refused(session, error, fields.sku, except_id=product.id)
    return Outcome(get_product(session, product.id))


def set_active(session: Session, product: Product, *, active: bool) -> str | None:
    """Archive (no longer for sale) or bring back a product, and commit; a message if busy."""
    try:
        _update(session, product, is_active=active)
    except DBAPIError as error:
        session.rollback()
        if sqlstate(error) != LOCK_NOT_AVAILABLE:
            raise
        return BUSY
    return None


def _update(session: Session, product: Product, **values: object) -> None:
    session.execute(
        update(Product)
        .where(Product.business_id == product.business_id, Product.id == product.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _refused(
    session: Session, error: DBAPIError, sku: str | None, *, except_id: uuid.UUID | None = None
) -> Outcome:
    """What to say about a write the database refused (rolled back): a SKU another product
    has, or a sale holding the product longer than the lock timeout; anything else is raised."""
    session.rollback()
    if isinstance(error, IntegrityError) and constraint_name(error) == catalog.SKU_INDEX:
        return _sku_conflict(session, sku, except_id=except_id)
    if sqlstate(error) == LOCK_NOT_AVAILABLE:
        return Outcome(problems={"": BUSY})
    raise error
