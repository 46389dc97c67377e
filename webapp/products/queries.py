"""What the product pages and the API read (row-level security keeps every query to the bound
business; the ledger's own statements name it as well, and so do these)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort
from sqlalchemy import Row, func, select, text
from sqlalchemy.orm import Session

from webapp import ledger
from webapp.inputs import parse_uuid
from webapp.listing import Listing, Page, fetch_listing, like_pattern, page_of
from webapp.models import Product

# Every reason a line of the stock history can have, in the shop's words.
REASON_LABELS = {
    "opening": "Opening stock",
    "sale": "Sale",
    **ledger.STOCK_REASONS,
    "import": "Import",
}


def get_product(session: Session, product_id: uuid.UUID) -> Product | None:
    """The product, read afresh (not from the session's memory): another business's id, hidden
    by row-level security and by the business named here, is None like a missing one."""
    return session.scalars(
        select(Product)
        .where(Product.business_id == session.info["business_id"], Product.id == product_id)
        .execution_options(populate_existing=True)
    ).one_or_none()


def product_or_404(session: Session, product_id: Any) -> Product:
    parsed = parse_uuid(product_id)
    product = get_product(session, parsed) if parsed else None
    if product is None:
        abort(404)
    return product


def product_with_sku(
    session: Session, sku: str | None, *, except_id: uuid.UUID | None = None
) -> Product | None:
    """The product that has this SKU, compared as the unique index does (ignoring case)."""
    if not sku:
        return None
    statement = select(Product).where(
        Product.business_id == session.info["business_id"],
        func.lower(Product.sku) == sku.lower(),
    )
    if except_id is not None:
        statement = statement.where(Product.id != except_id)
    return session.scalars(statement.limit(1)).one_or_none()


_LIST_FROM = """
    FROM products p
    JOIN businesses b ON b.id = p.business_id
   WHERE p.business_id = :business_id
     AND (CAST(:include_archived AS boolean) OR p.is_active)
     AND (NOT CAST(:low_stock AS boolean) OR (p.is_active AND p.stock <= b.low_stock_threshold))
     AND (CAST(:pattern AS text) IS NULL
          OR p.name ILIKE :pattern ESCAPE '\\' OR p.sku ILIKE :pattern ESCAPE '\\')"""
_LIST_PAGE = text(
    f"""SELECT p.id, p.name, p.sku, p.price, p.stock, p.is_active,
               (p.is_active AND p.stock <= b.low_stock_threshold) AS low_stock
        {_LIST_FROM}
         ORDER BY lower(p.name), p.id
         LIMIT :limit OFFSET :offset"""
)
# The total is what the stock listed is worth at today's selling prices.
_LIST_TOTALS = text(
    f"SELECT count(*) AS count, coalesce(sum(p.price * p.stock), 0) AS total {_LIST_FROM}"
)


def list_products(
    session: Session,
    page: Page,
    *,
    query: str = "",
    low_stock: bool = False,
    include_archived: bool = False,
) -> Listing:
    """One page of products by name, matching `query` (name or SKU); with `low_stock`, only
    products for sale at or below the business's low-stock threshold; archived ones only when
    asked for. The count and stock value are of everything that matches."""
    params = {
        "business_id": session.info["business_id"],
        "include_archived": include_archived,
        "low_stock": low_stock,
        "pattern": like_pattern(query) if query else None,
    }
    return fetch_listing(session, _LIST_PAGE, _LIST_TOTALS, params, page)


_HISTORY = text(
    """SELECT m.id, m.created_at, m.change, m.reason, m.resulting_stock, m.note, m.order_id,
              coalesce(u.name, '') AS user_name
         FROM stock_movements m
         LEFT JOIN users u ON u.business_id = m.business_id AND u.id = m.created_by
        WHERE m.business_id = :business_id AND m.product_id = :product_id
        ORDER BY m.created_at DESC, m.id DESC
        LIMIT :limit OFFSET :offset"""
)


def stock_history(
    session: Session, product_id: uuid.UUID, page: Page
) -> tuple[list[Row[Any]], Page]:
    """One page of the product's stock history, newest first."""
    rows = session.execute(
        _HISTORY,
        {
            "business_id": session.info["business_id"],
            "product_id": product_id,
            "limit": page.size + 1,
            "offset": page.offset,
        },
    )
    return page_of(list(rows), page)
