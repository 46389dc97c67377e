"""Customers and products as the shop enters them: one set of rules for the pages, the API and
CSV imports, so each says the same thing about the same mistake.

`customer_fields` and `product_fields` read raw values (form text, JSON values or CSV cells)
and return the cleaned values with a message per field in the shopkeeper's words; `create_*`
write them (row-level security keeps them to the bound business).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp import ledger
from webapp.accounts import EMAIL_PATTERN
from webapp.inputs import parse_amount
from webapp.models import Customer, Product, StockMovement

MAX_MONEY = Decimal("9999999999.99")
MAX_STOCK = 1_000_000
WHOLE_NUMBER = re.compile(r"\d{1,7}")
SKU_INDEX = "products_sku_key"  # the unique index on (business_id, lower(sku))
# 12,50 written the European way: commas are read as thousands separators (1,250.00), so such a
# value would silently become 1250. Said instead of guessed.
DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")

Problems = dict[str, str]


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    """The field as text (None when it is not text at all: a number or list sent as JSON)."""
    value = raw.get(key)
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else None


def _money(value: Any, what: str, problems: Problems, key: str) -> Decimal:
    """An amount from 0 up with at most 2 decimals; blank means 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Decimal("0.00")
    if isinstance(value, str) and DECIMAL_COMMA.fullmatch(value.strip()):
        cents = value.strip().replace(",", ".")
        problems[key] = (
            f"Write {what.lower()} with a point before the cents, such as {cents} "
            "(a comma there would be read as thousands)."
        )
        return Decimal("0.00")
    amount = parse_amount(value.replace(",", "") if isinstance(value, str) else value)
    if amount is None:
        problems[key] = f"{what} must be an amount such as 12.50."
    elif amount < 0:
        problems[key] = f"{what} cannot be negative."
    elif amount != amount.quantize(Decimal("0.01")):
        problems[key] = f"{what} has at most 2 decimals."
    elif amount > MAX_MONEY:
        problems[key] = f"{what} is too large."
    else:
        return amount.quantize(Decimal("0.01"))
    return Decimal("0.00")


def _length(value: str | None, key: str, what: str, limit: int, problems: Problems) -> str:
    if value is None:
        problems[key] = f"{what} must be text."
        return ""
    if len(value) > limit:
        problems[key] = f"{what} is at most {limit} characters."
    return value


@dataclass(frozen=True)
class CustomerFields:
    name: str
    phone: str
    email: str
    notes: str
    credit_limit: Decimal | None  # None: not given (a clerk's form, or left as it was)


def customer_fields(
    raw: Mapping[str, Any], *, with_limit: bool
) -> tuple[CustomerFields | None, Problems]:
    """Name (required), phone, email, notes, and the credit limit when `with_limit`."""
    problems: Problems = {}
    name = _length(_text(raw, "name"), "name", "The name", 120, problems)
    if not name and "name" not in problems:
        problems["name"] = "Enter the customer's name."
    phone = _length(_text(raw, "phone"), "phone", "The phone number", 40, problems)
    email = _length(_text(raw, "email"), "email", "The email address", 254, problems)
    if email and "email" not in problems and not EMAIL_PATTERN.match(email):
        problems["email"] = "That is not an email address."
    notes = _length(_text(raw, "notes"), "notes", "The notes", 2000, problems)
    limit = _money(raw.get("credit_limit"), "The credit limit", problems, "credit_limit")
    if problems:
        return None, problems
    return CustomerFields(name, phone, email, notes, limit if with_limit else None), problems


def opening_balance(raw: Mapping[str, Any], problems: Problems) -> Decimal:
    return _money(raw.get("opening_balance"), "The opening balance", problems, "opening_balance")


@dataclass(frozen=True)
class ProductFields:
    name: str
    sku: str | None
    price: Decimal
    stock: int


def product_fields(
    raw: Mapping[str, Any], *, with_stock: bool = True
) -> tuple[ProductFields | None, Problems]:
    """Name (required), SKU, price (required), and the opening stock when `with_stock` (an
    existing product's stock changes only through a restock or correction)."""
    problems: Problems = {}
    name = _length(_text(raw, "name"), "name", "The name", 120, problems)
    if not name and "name" not in problems:
        problems["name"] = "Enter the product's name."
    sku = _length(_text(raw, "sku"), "sku", "The SKU", 64, problems)
    raw_price = raw.get("price")
    if raw_price is None or (isinstance(raw_price, str) and not raw_price.strip()):
        problems["price"] = "Enter the price, such as 12.50."
        price = Decimal("0.00")
    else:
        price = _money(raw_price, "The price", problems, "price")
    stock = 0
    if with_stock:
        raw_stock = raw.get("stock")
        if isinstance(raw_stock, int) and not isinstance(raw_stock, bool):
            raw_stock = str(raw_stock)
        if raw_stock is None or raw_stock == "":
            stock = 0
        elif not isinstance(raw_stock, str) or not WHOLE_NUMBER.fullmatch(raw_stock.strip()):
            problems["stock"] = "The stock is a whole number from 0 up."
        elif int(raw_stock) > MAX_STOCK:
            problems["stock"] = f"The stock is at most {MAX_STOCK:,}."
        else:
            stock = int(raw_stock)
    if problems:
        return None, problems
    return ProductFields(name, sku or None, price, stock), problems


def sku_taken(session: Session, sku: str | None, *, except_id: uuid.UUID | None = None) -> bool:
    if not sku:
        return False
    statement = select(Product.id).where(func.lower(Product.sku) == sku.lower())
    if except_id is not None:
        statement = statement.where(Product.id != except_id)
    return session.scalar(statement.limit(1)) is not None


def create_customer(
    session: Session,
    fields: CustomerFields,
    *,
    user_id: uuid.UUID,
    opening: Decimal = Decimal("0.00"),
    customer_id: uuid.UUID | None = None,
) -> Customer:
    """A new customer in the bound business, in the caller's transaction; an opening balance
    goes through the ledger (a sale without items, within the credit limit). `customer_id`
    (a form's or API client's idempotency key) makes a resent create hit the primary key."""
    [customer] = create_customers(session, [(fields, opening, customer_id)], user_id=user_id)
    if opening > 0:
        session.refresh(customer)
    return customer


def create_customers(
    session: Session,
    entries: list[tuple[CustomerFields, Decimal, uuid.UUID | None]],
    *,
    user_id: uuid.UUID,
) -> list[Customer]:
    """Many new customers (fields, opening balance, id or None) in one batch of inserts, then
    every opening balance in one ledger call, so an import of thousands holds its locks
    briefly. Refusals raise ledger errors naming the customer; the caller rolls back."""
    customers = [
        Customer(
            business_id=session.info["business_id"],
            id=customer_id or uuid.uuid4(),
            name=fields.name,
            phone=fields.phone,
            email=fields.email,
            notes=fields.notes,
            credit_limit=fields.credit_limit or Decimal("0.00"),
        )
        for fields, _opening, customer_id in entries
    ]
    session.add_all(customers)
    session.flush()
    openings = [
        (customer.id, opening)
        for customer, (_fields, opening, _id) in zip(customers, entries, strict=True)
        if opening > 0
    ]
    if openings:
        ledger.record_opening_balances(session, openings, user_id=user_id)
    return customers


def create_product(
    session: Session,
    fields: ProductFields,
    *,
    user_id: uuid.UUID,
    reason: str = "opening",
    product_id: uuid.UUID | None = None,
) -> Product:
    """A new product in the bound business, in the caller's transaction; its opening stock is
    the first line of its stock history, so the history always adds up to the stock.
    `product_id` (a form's or till's idempotency key) makes a resent creation find the first."""
    [product] = create_products(session, [(fields, product_id)], user_id=user_id, reason=reason)
    return product


def create_products(
    session: Session,
    entries: list[tuple[ProductFields, uuid.UUID | None]],
    *,
    user_id: uuid.UUID,
    reason: str = "opening",
) -> list[Product]:
    """Many new products (fields, id or None) with their opening stock movements, in one batch
    of inserts."""
    business_id = session.info["business_id"]
    products = [
        Product(
            business_id=business_id,
            id=product_id or uuid.uuid4(),
            name=fields.name,
            sku=fields.sku,
            price=fields.price,
            stock=fields.stock,
        )
        for fields, product_id in entries
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
