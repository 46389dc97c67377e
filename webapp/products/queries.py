"""What the product pages and the API read (row-level security keeps every query to the bound
business; the ledger's own statements name it as well, and so do these)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from flask import abort
from flask_babel import lazy_gettext
from sqlalchemy import Row, func, select, text
from sqlalchemy.orm import Session

from webapp import ledger
from webapp.inputs import parse_uuid
from webapp.listing import Listing, Page, fetch_listing, page_of
from webapp.models import Product, ProductCode

# Every reason a line of the stock history can have, in the shop's words.
REASON_LABELS = {
    "opening": lazy_gettext("Opening stock"),
    "sale": lazy_gettext("Sale"),
    "return": lazy_gettext("Return"),
    **ledger.STOCK_REASONS,
    "import": lazy_gettext("Import"),
}


def get_product(session: Session, product_id: uuid.UUID) -> Product | None:
    """The product, read afresh (not from the session's memory): another business's id, hidden
    by row-level security and by the business named here, is None like a missing one."""
    return session.scalars(
        select(Product)
        .where(Product.business_id == session.info["business_id"], Product.id == product_id)
        .execution_options(populate_existing=True)
    ).one_or_none()


def product_with_key(session: Session, key: uuid.UUID) -> Product | None:
    """The product a page's or client's idempotency key made, if any."""
    return session.scalars(select(Product).where(Product.idempotency_key == key)).one_or_none()


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


def product_with_code(
    session: Session, code: str | None, *, except_id: uuid.UUID | None = None
) -> Product | None:
    """The product holding this code (its SKU or barcode) in the register of codes, compared
    as its key compares them: `product_code()` (any case, a 12-digit UPC = its EAN-13)."""
    if not code or not code.strip():
        return None
    statement = (
        select(Product)
        .join(
            ProductCode,
            (ProductCode.business_id == Product.business_id)
            & (ProductCode.product_id == Product.id),
        )
        .where(
            ProductCode.business_id == session.info["business_id"],
            ProductCode.code == func.product_code(code),
        )
    )
    if except_id is not None:
        statement = statement.where(Product.id != except_id)
    return session.scalars(statement.limit(1)).one_or_none()


def normalized_codes(session: Session, codes: list[str]) -> dict[str, str]:
    """Each code (SKU or barcode, as written) → the code as compared (`product_code()`); codes
    that are blank are left out."""
    if not codes:
        return {}
    rows = session.execute(
        text(
            "SELECT written, product_code(written) AS code FROM unnest(CAST(:codes AS text[]))"
            " AS w (written) WHERE product_code(written) IS NOT NULL"
        ),
        {"codes": codes},
    )
    return {row.written: row.code for row in rows}


def codes_held(session: Session, codes: list[str]) -> dict[str, str]:
    """The codes (as compared) that a product of the shop already has → that product's name."""
    if not codes:
        return {}
    rows = session.execute(
        text(
            """SELECT c.code, p.name
                 FROM product_codes c
                 JOIN products p ON p.business_id = c.business_id AND p.id = c.product_id
                WHERE c.business_id = :business_id AND c.code = ANY(CAST(:codes AS text[]))"""
        ),
        {"business_id": session.info["business_id"], "codes": codes},
    )
    return {row.code: row.name for row in rows}


def product_by_code(
    session: Session, code: str, *, include_archived: bool = False
) -> ProductMatch | None:
    """The one product (for sale, unless `include_archived`) whose barcode or SKU is exactly
    `code`, in any case, a 12-digit UPC matching its 13-digit EAN-13; None when there is none.
    A code belongs to one product of a shop (product_codes' key), so there is at most one; a
    barcode is looked for before a SKU all the same."""
    if not code.strip():
        return None
    row = session.execute(
        _BY_CODE,
        {
            "business_id": session.info["business_id"],
            "code": code.strip()[:MAX_CODE],
            "include_archived": include_archived,
        },
    ).first()
    return ProductMatch.of(row) if row is not None else None


@dataclass(frozen=True)
class ProductMatch:
    """A product as a search finds it."""

    id: uuid.UUID
    name: str
    sku: str | None
    barcode: str | None
    price: Decimal
    stock: int
    is_active: bool
    low_stock: bool  # for sale and at or below the shop's low-stock threshold

    @classmethod
    def of(cls, row: Row[Any]) -> ProductMatch:
        return cls(**{f.name: row._mapping[f.name] for f in fields(cls)})


MAX_QUERY = 100  # characters of a search that are used
MAX_CODE = 64  # a SKU or barcode is at most this long

COUNT_CAP = 1000  # a search counts its matches up to this many (listing.Listing.capped)

_COLUMNS = """p.id, p.name, p.sku, p.barcode, p.price, p.stock, p.is_active,
              (p.is_active AND p.stock <= b.low_stock_threshold) AS low_stock"""
# The matching and its order are find_products() (migration 0006: a SECURITY DEFINER function,
# since under row-level security no index would serve a LIKE); the products themselves are
# read here, under row-level security, in the order it found them.
_SEARCH = text(
    f"""SELECT {_COLUMNS}
          FROM find_products(:text, :limit, :offset, :include_archived, :low_stock)
               WITH ORDINALITY AS f (id, rank, n)
          JOIN products p ON p.business_id = :business_id AND p.id = f.id
          JOIN businesses b ON b.id = p.business_id
         ORDER BY f.n"""
)
_SEARCH_TOTALS = text(
    "SELECT count, total FROM count_found_products(:text, :include_archived, :low_stock, :cap)"
)
_BY_CODE = text(
    f"""SELECT {_COLUMNS}
          FROM product_codes c
          JOIN products p ON p.business_id = c.business_id AND p.id = c.product_id
          JOIN businesses b ON b.id = p.business_id
         WHERE c.business_id = :business_id
           AND c.code = product_code(:code)
           AND (CAST(:include_archived AS boolean) OR p.is_active)
         ORDER BY c.kind = 'barcode' DESC
         LIMIT 1"""
)


def _search_params(session: Session, query: str, **filters: object) -> dict[str, Any]:
    return {
        "business_id": session.info["business_id"],
        "text": query.strip()[:MAX_QUERY],
        "include_archived": False,
        "low_stock": False,
        **filters,
    }


def search_products(
    session: Session,
    query: str,
    *,
    limit: int = 10,
    include_archived: bool = False,
    low_stock: bool = False,
    offset: int = 0,
) -> list[ProductMatch]:
    """The products matching what was typed, best first: the product whose barcode or SKU is
    exactly `query`, then those whose name starts with it, then the rest (by name within each).

    Any case, accents ignored ("creme" finds "Crème fraîche"); three or more characters match
    anywhere in the name, SKU or barcode, one or two only at the start of the name or a code.
    Archived products only with `include_archived` (never on the sale form); `low_stock` keeps
    the products for sale at or below the shop's threshold. Served by PostgreSQL from the
    indexes of migration 0006, reading no more rows than the page needs: it costs about the
    same at 1,000 or 100,000 products."""
    if not query.strip():
        return []
    params = _search_params(session, query, include_archived=include_archived, low_stock=low_stock)
    rows = session.execute(_SEARCH, {**params, "limit": limit, "offset": offset})
    return [ProductMatch.of(row) for row in rows]


_LIST_FROM = """
    FROM products p
    JOIN businesses b ON b.id = p.business_id
   WHERE p.business_id = :business_id
     AND (CAST(:include_archived AS boolean) OR p.is_active)
     AND (NOT CAST(:low_stock AS boolean) OR (p.is_active AND p.stock <= b.low_stock_threshold))"""
_LIST_PAGE = text(
    f"""SELECT {_COLUMNS}
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
    code: str | None = None,
    low_stock: bool = False,
    include_archived: bool = False,
) -> Listing:
    """One page of products: by name; with a `query`, the matches of `search_products` best
    first; with a `code`, the one product of `product_by_code`, or none. With `low_stock`, only
    products for sale at or below the business's low-stock threshold; archived ones only when
    asked for. The count and stock value are of everything that matches; for a search, of the
    first COUNT_CAP matches (`capped` then says there may be more)."""
    if code is not None:
        found = product_by_code(session, code, include_archived=include_archived)
        if found is None or (low_stock and not found.low_stock):
            return Listing([], page, 0, Decimal("0.00"))
        shown = [found] if page.number == 1 else []
        return Listing(shown, page, 1, found.price * found.stock)
    if query.strip():
        matches = search_products(
            session,
            query,
            limit=page.size + 1,
            offset=page.offset,
            include_archived=include_archived,
            low_stock=low_stock,
        )
        params = _search_params(
            session, query, include_archived=include_archived, low_stock=low_stock
        )
        totals = session.execute(_SEARCH_TOTALS, {**params, "cap": COUNT_CAP}).one()
        shown, page = page_of(matches, page)
        count = totals._mapping["count"]
        return Listing(shown, page, count, totals.total, capped=count >= COUNT_CAP)
    params = {
        "business_id": session.info["business_id"],
        "include_archived": include_archived,
        "low_stock": low_stock,
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
