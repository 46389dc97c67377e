"""Products as the shop enters them: the rules for their fields, and every change of a product.

One set of rules for the pages, the API and CSV imports. `product_fields` reads raw values and
returns the cleaned values with a message per field. `add_product`, `edit_product`,
`set_active` and `change_stock` are each one committed unit of work (a refusal has written
nothing); `create_products` writes in the caller's transaction (an import's).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from webapp import ledger
from webapp.activity import log as activity
from webapp.db import (
    LOCK_NOT_AVAILABLE,
    TENANT_KEY,
    committed,
    constraint_name,
    sqlstate,
)
from webapp.idempotency import create_once, fingerprint
from webapp.inputs import (
    Problems,
    limited,
    money_field,
    text_field,
    too_many_digits,
    whole_number,
)
from webapp.models import Product, StockMovement
from webapp.products.queries import (
    get_product,
    product_with_code,
    product_with_key,
    product_with_sku,
)

MAX_STOCK = 1_000_000  # a new product's opening stock
PRICE_REASON_MAX = 200
SKU_INDEX = "products_sku_key"  # the unique index on (business_id, lower(sku))
# The key of the register of codes (migration 0006): a SKU or barcode another product holds.
CODES_KEY = "product_codes_pkey"
NUMERIC_OUT_OF_RANGE = "22003"
BUSY = lazy_gettext("Someone is selling this product right now. Nothing was changed; try again.")


@dataclass(frozen=True)
class ProductFields:
    name: str
    sku: str | None
    price: Decimal
    stock: int
    barcode: str | None = None


def product_fields(
    raw: Mapping[str, Any], *, with_stock: bool = True
) -> tuple[ProductFields | None, Problems]:
    """Name (required), SKU, barcode, price (required), and the opening stock when
    `with_stock` (an existing product's stock changes only through a restock or correction).
    Whether a SKU or barcode is another product's is the database's to say (`_refused`)."""
    problems: Problems = {}
    name = limited(text_field(raw, "name"), "name", gettext("The name"), 120, problems)
    if not name and "name" not in problems:
        problems["name"] = gettext("Enter the product's name.")
    sku = limited(text_field(raw, "sku"), "sku", gettext("The SKU"), 64, problems)
    barcode = limited(text_field(raw, "barcode"), "barcode", gettext("The barcode"), 64, problems)
    if barcode and any(character.isspace() for character in barcode):
        problems["barcode"] = gettext("A barcode has no spaces: type or scan it as it is printed.")
    raw_price = raw.get("price")
    if raw_price is None or (isinstance(raw_price, str) and not raw_price.strip()):
        problems["price"] = gettext("Enter the price, such as 12.50.")
        price = Decimal("0.00")
    else:
        price = money_field(raw_price, gettext("The price"), problems, "price")
    stock = 0
    raw_stock = raw.get("stock")
    if with_stock and raw_stock not in (None, ""):
        number = whole_number(raw_stock)
        if number is None and not too_many_digits(raw_stock):
            problems["stock"] = gettext("The stock is a whole number from 0 up.")
        elif number is None or number > MAX_STOCK:
            problems["stock"] = gettext(
                "The stock is at most %(max_stock)s.", max_stock=format(MAX_STOCK, ",")
            )
        else:
            stock = number
    if problems:
        return None, problems
    return ProductFields(name, sku or None, price, stock, barcode or None), problems


def sku_taken(session: Session, sku: str | None, *, except_id: uuid.UUID | None = None) -> bool:
    if not sku:
        return False
    statement = select(Product.id).where(func.lower(Product.sku) == sku.lower())
    if except_id is not None:
        statement = statement.where(Product.id != except_id)
    return session.scalar(statement.limit(1)) is not None


def sku_message(holder: Product) -> str:
    return f"{holder.name} already has this SKU; each product needs its own."


def code_message(holder: Product) -> str:
    """A SKU or barcode that is another product's SKU or barcode (one scan, one product)."""
    return f"{holder.name} already has this code; each product needs its own."


@dataclass(frozen=True)
class Outcome:
    """What became of a new product or an edit: the product, or what was wrong."""

    product: Product | None = None
    created: bool = False  # False for an edit, or a creation sent again with the same key
    problems: Problems = field(default_factory=dict)  # "" names a problem of no one field
    holder: Product | None = None  # the product that already has the SKU or barcode asked for
    taken: str | None = None  # which of the two: "sku" or "barcode"


@dataclass(frozen=True)
class NewProduct:
    """A product to create, and, when a page or API client asked, the key it sent and its
    request's fingerprint. Ids are the server's."""

    fields: ProductFields
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    key: uuid.UUID | None = None
    request_hash: uuid.UUID | None = None


def add_product(
    session: Session, raw: Mapping[str, Any], *, user_id: uuid.UUID, key: uuid.UUID
) -> Outcome:
    """Create the product `raw` describes, committed, made once for its idempotency key.

    A key seen before answers with that product, unchanged (a double click, a till resending);
    with another product's details it raises KeyReused.
    A SKU or barcode already used (ignoring case; a UPC and its EAN-13 are one code) is refused
    with the product that has it: the unique indexes decide, so two requests racing for one
    code get that answer too, never an error."""
    fields, problems = product_fields(raw)
    if fields is None:
        return Outcome(problems=problems)

    request = fingerprint(product=asdict(fields))

    def make() -> Product:
        new = NewProduct(fields, key=key, request_hash=request)
        [product] = create_products(session, [new], user_id=user_id)
        return product

    try:
        product, created = create_once(
            session, lambda: product_with_key(session, key), make, request
        )
    except DBAPIError as error:
        return _refused(session, error, fields)
    return Outcome(product, created=created)


def create_products(
    session: Session,
    entries: list[NewProduct],
    *,
    user_id: uuid.UUID,
    reason: str = "opening",
) -> list[Product]:
    """Many new products with their opening stock movements, in one batch of inserts in the
    caller's transaction: the stock history always adds up to the stock."""
    business_id = session.info[TENANT_KEY]
    products = [
        Product(
            business_id=business_id,
            id=new.id,
            name=new.fields.name,
            sku=new.fields.sku,
            barcode=new.fields.barcode,
            price=new.fields.price,
            stock=new.fields.stock,
            idempotency_key=new.key,
            request_hash=new.request_hash,
        )
        for new in entries
    ]
    session.add_all(products)
    session.flush()
    session.add_all(
        StockMovement(
            business_id=business_id,
            id=uuid.uuid4(),
            product_id=product.id,
            change=product.stock,
            reason=reason,
            resulting_stock=product.stock,
            created_by=user_id,
        )
        for product in products
        if product.stock
    )
    session.flush()
    return products


LOCK_PRICE = text(
    """SELECT price FROM products
        WHERE business_id = :business_id AND id = :id
          FOR NO KEY UPDATE"""
)


def edit_product(
    session: Session, product: Product, raw: Mapping[str, Any], *, actor_id: uuid.UUID
) -> Outcome:
    """Change the name, SKU, barcode and price, committed. The stock is never written here (a
    sale may be changing it right now); past sales keep the price they were made at. A new
    price goes in the activity log with why (`price_reason`, optional), from the price as it
    stood under the product's lock."""
    fields, problems = product_fields(raw, with_stock=False)
    reason = limited(
        text_field(raw, "price_reason"),
        "price_reason",
        gettext("The reason"),
        PRICE_REASON_MAX,
        problems,
    )
    if fields is None or problems:
        return Outcome(problems=problems)
    ids = {"business_id": product.business_id, "id": product.id}
    try:
        with committed(session):
            before: Decimal = session.execute(LOCK_PRICE, ids).scalar_one()
            _write(
                session,
                product,
                name=fields.name,
                sku=fields.sku,
                barcode=fields.barcode,
                price=fields.price,
            )
            if fields.price != before:
                activity.record(
                    session,
                    kind="price",
                    summary=f"Price of {fields.name}: "
                    f"{activity.amount(before)} → {activity.amount(fields.price)}",
                    user_id=actor_id,
                    before={"price": before},
                    after={"price": fields.price},
                    reason=reason,
                    product_id=product.id,
                )
    except DBAPIError as error:
        return _refused(session, error, fields, except_id=product.id)
    return Outcome(get_product(session, product.id))


def set_active(session: Session, product: Product, *, active: bool) -> str | None:
    """Archive (no longer for sale) or bring back a product, committed; a message if busy."""
    try:
        _update(session, product, is_active=active)
    except DBAPIError as error:
        if sqlstate(error) != LOCK_NOT_AVAILABLE:
            raise
        return str(BUSY)
    return None


class StockTooLarge(Exception):
    """The change would take the stock past what the database can hold; nothing was written."""


def change_stock(
    session: Session,
    product: Product,
    *,
    reason: str,
    quantity: int,
    note: str,
    user_id: uuid.UUID,
    key: uuid.UUID,
) -> ledger.StockChange:
    """A delivery (`quantity` added), damage (removed) or count (`quantity` is the stock
    counted), through the ledger under the product's lock. Ledger refusals raise."""
    counting = reason == "count_correction"
    try:
        return ledger.adjust_stock(
            session,
            product_id=product.id,
            reason=reason,
            idempotency_key=key,
            user_id=user_id,
            change=None if counting else quantity,
            counted=quantity if counting else None,
            note=note,
        )
    except DBAPIError as error:
        if sqlstate(error) != NUMERIC_OUT_OF_RANGE:
            raise
        raise StockTooLarge from None


def _update(session: Session, product: Product, **values: object) -> None:
    with committed(session):
        _write(session, product, **values)


def _write(session: Session, product: Product, **values: object) -> None:
    session.execute(
        update(Product)
        .where(Product.business_id == product.business_id, Product.id == product.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _refused(
    session: Session,
    error: DBAPIError,
    fields: ProductFields,
    *,
    except_id: uuid.UUID | None = None,
) -> Outcome:
    """What to say about a write the database refused (rolled back): a SKU another product
    has as its SKU (products_sku_key), a barcode or SKU another product has as a code
    (product_codes' key; the barcode is named first), or a sale holding the product longer than
    the lock timeout; anything else is raised."""
    constraint = constraint_name(error) if isinstance(error, IntegrityError) else None
    if constraint == SKU_INDEX:
        holder = product_with_sku(session, fields.sku, except_id=except_id)
        if holder is None:  # it was renamed in the meantime: say it plainly
            return Outcome(
                problems={"sku": gettext("Another product already has this SKU.")}, taken="sku"
            )
        return Outcome(problems={"sku": sku_message(holder)}, holder=holder, taken="sku")
    if constraint == CODES_KEY:
        for name, code in (("barcode", fields.barcode), ("sku", fields.sku)):
            holder = product_with_code(session, code, except_id=except_id)
            if holder is not None:
                return Outcome(problems={name: code_message(holder)}, holder=holder, taken=name)
        # The holder changed its code in the meantime: say it plainly, next to the barcode.
        name = "barcode" if fields.barcode else "sku"
        return Outcome(
            problems={name: gettext("Another product already has this code.")}, taken=name
        )
    if sqlstate(error) == LOCK_NOT_AVAILABLE:
        return Outcome(problems={"": str(BUSY)})
    raise error
