"""Calls the locked ledger functions in SQL and turns their refusals into Python exceptions.

Each refusal has its own SQLSTATE and a JSON DETAIL with its facts; nothing here ever reads a
message string. Every call is its own transaction: committed on success, rolled back on any
refusal, and retried a bounded number of times on a deadlock or serialization failure.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from webapp.db import LOCK_NOT_AVAILABLE, UNIQUE_VIOLATION, sqlstate

# Serialization failure and deadlock; and a unique violation, which only two tills racing on
# one idempotency key can cause: run again, the key is then found and answered properly.
RETRYABLE = frozenset({"40001", "40P01", UNIQUE_VIOLATION})
ATTEMPTS = 3


class LedgerError(Exception):
    """A refusal from the ledger. Nothing was written."""

    sqlstate = ""

    def __init__(self, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class InsufficientStock(LedgerError):
    sqlstate = "SC001"

    @property
    def product_id(self) -> uuid.UUID:
        return uuid.UUID(self.detail["product_id"])

    @property
    def available(self) -> int:
        return int(self.detail["available"])


class CreditLimitExceeded(LedgerError):
    sqlstate = "SC002"

    @property
    def available_credit(self) -> Decimal:
        return Decimal(str(self.detail["available_credit"])).quantize(Decimal("0.01"))


class NotFound(LedgerError):
    sqlstate = "SC003"

    @property
    def entity(self) -> str:
        return str(self.detail.get("entity", ""))

    @property
    def id(self) -> uuid.UUID | None:
        value = self.detail.get("id")
        return uuid.UUID(value) if value else None


class InvalidInput(LedgerError):
    sqlstate = "SC004"

    @property
    def field(self) -> str | None:
        return self.detail.get("field")

    @property
    def reason(self) -> str | None:
        return self.detail.get("reason")

    @property
    def line(self) -> int | None:
        return self.detail.get("line")


class PaymentExceedsBalance(LedgerError):
    sqlstate = "SC005"

    @property
    def balance(self) -> Decimal:
        return Decimal(str(self.detail["balance"])).quantize(Decimal("0.01"))


class CustomerArchived(LedgerError):
    sqlstate = "SC006"


class IdempotencyKeyReused(LedgerError):
    sqlstate = "SC007"


class Busy(LedgerError):
    """Another till held the same customer or products for too long (lock_timeout)."""

    sqlstate = LOCK_NOT_AVAILABLE


REFUSALS: dict[str, type[LedgerError]] = {
    cls.sqlstate: cls
    for cls in (
        InsufficientStock,
        CreditLimitExceeded,
        NotFound,
        InvalidInput,
        PaymentExceedsBalance,
        CustomerArchived,
        IdempotencyKeyReused,
        Busy,
    )
}


def _refusal(error: DBAPIError) -> LedgerError | None:
    cls = REFUSALS.get(sqlstate(error) or "")
    if cls is None:
        return None
    diag = error.orig.diag  # type: ignore[union-attr]
    try:
        detail = json.loads(diag.message_detail or "{}")
    except ValueError:
        detail = {}
    return cls(diag.message_primary or cls.__name__, detail)


def _call(session: Session, sql: Any, params: dict[str, Any]) -> Any:
    """Run one ledger function as its own transaction; return its single row."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            row = session.execute(sql, params).one()
            session.commit()
            return row
        except DBAPIError as error:
            session.rollback()
            refusal = _refusal(error)
            if refusal is not None:
                raise refusal from None
            if sqlstate(error) in RETRYABLE and attempt < ATTEMPTS:
                continue
            raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Line:
    product_id: uuid.UUID | str
    quantity: Any  # validated by the database: a whole number from 1 to 100000

    def as_json(self) -> dict[str, Any]:
        return {"product_id": str(self.product_id), "quantity": self.quantity}


@dataclass(frozen=True)
class Sale:
    order_id: uuid.UUID
    created: bool  # False when the idempotency key named a sale already recorded
    total: Decimal
    balance_after: Decimal
    due_on: date


PURCHASE = text(
    """SELECT order_id, created, total, balance_after, due_on
         FROM process_purchase(:customer_id, CAST(:items AS jsonb), :idempotency_key,
                               :user_id, :api_token_id)"""
)


def purchase(
    session: Session,
    *,
    customer_id: uuid.UUID,
    lines: list[Line],
    idempotency_key: uuid.UUID,
    user_id: uuid.UUID,
    api_token_id: uuid.UUID | None = None,
) -> Sale:
    """Record a sale on the customer's account (see sql/migrations/0002_process_purchase.sql)."""
    try:
        items = json.dumps([line.as_json() for line in lines], allow_nan=False)
    except ValueError:  # NaN or infinity, which JSON (and so the ledger) cannot take
        raise InvalidInput(
            "the quantity must be a whole number from 1 to 100000", {"field": "quantity"}
        ) from None
    row = _call(
        session,
        PURCHASE,
        {
            "customer_id": customer_id,
            "items": items,
            "idempotency_key": idempotency_key,
            "user_id": user_id,
            "api_token_id": api_token_id,
        },
    )
    return Sale(row.order_id, row.created, row.total, row.balance_after, row.due_on)


PAYMENT_METHODS = {
    "cash": "Cash",
    "card": "Card",
    "bank_transfer": "Bank transfer",
    "mobile_money": "Mobile money",
    "other": "Other",
}


@dataclass(frozen=True)
class Allocation:
    order_id: uuid.UUID
    amount: Decimal


@dataclass(frozen=True)
class Receipt:
    payment_id: uuid.UUID
    created: bool  # False when the idempotency key named a payment already recorded
    balance_after: Decimal
    allocations: list[Allocation]


PAYMENT = text(
    """SELECT payment_id, created, balance_after
         FROM record_payment(:customer_id, :amount, :method, :note, :idempotency_key,
                             :user_id, :order_id, :api_token_id)"""
)
ALLOCATIONS = text(
    """SELECT a.order_id, a.amount
         FROM payment_allocations a JOIN orders o ON o.id = a.order_id
        WHERE a.payment_id = :payment_id
        ORDER BY o.due_on, o.created_at, o.id"""
)


def pay(
    session: Session,
    *,
    customer_id: uuid.UUID,
    amount: Decimal,
    method: str,
    note: str,
    idempotency_key: uuid.UUID,
    user_id: uuid.UUID,
    order_id: uuid.UUID | None = None,
    api_token_id: uuid.UUID | None = None,
) -> Receipt:
    """Record a payment (see sql/migrations/0003_record_payment.sql) and how it was applied."""
    row = _call(
        session,
        PAYMENT,
        {
            "customer_id": customer_id,
            "amount": amount,
            "method": method,
            "note": note,
            "idempotency_key": idempotency_key,
            "user_id": user_id,
            "order_id": order_id,
            "api_token_id": api_token_id,
        },
    )
    allocations = [
        Allocation(order, share)
        for order, share in session.execute(ALLOCATIONS, {"payment_id": row.payment_id})
    ]
    session.commit()
    return Receipt(row.payment_id, row.created, row.balance_after, allocations)


@dataclass(frozen=True)
class StockChange:
    movement_id: uuid.UUID
    created: bool  # False when the idempotency key named a change already recorded
    change: int  # 0: a count that matched the stock (recorded too, as a count)
    resulting_stock: int


STOCK_REASONS = {
    "delivery": "Delivery",
    "count_correction": "Count correction",
    "damage": "Damage",
}

ADJUST_STOCK = text(
    """SELECT movement_id, created, change, resulting_stock
         FROM adjust_stock(:product_id, :change, :reason, :note, :idempotency_key, :user_id,
                           :counted)"""
)


def adjust_stock(
    session: Session,
    *,
    product_id: uuid.UUID,
    reason: str,
    idempotency_key: uuid.UUID,
    user_id: uuid.UUID,
    change: int | None = None,
    counted: int | None = None,
    note: str = "",
) -> StockChange:
    """Restock or correct one product's stock (see sql/migrations/0004_stock_and_imports.sql):
    either by `change`, or, for a count correction, to the `counted` stock."""
    row = _call(
        session,
        ADJUST_STOCK,
        {
            "product_id": product_id,
            "change": change,
            "reason": reason,
            "note": note,
            "idempotency_key": idempotency_key,
            "user_id": user_id,
            "counted": counted,
        },
    )
    return StockChange(row.movement_id, row.created, row.change, row.resulting_stock)


OPENING_BALANCES = text("SELECT record_opening_balances(CAST(:entries AS jsonb), :user_id)")


def record_opening_balances(
    session: Session, entries: list[tuple[uuid.UUID, Decimal]], *, user_id: uuid.UUID
) -> None:
    """Inside the caller's transaction (a new customer, an import): what customers owed before
    ShopCredit, each as a sale without items made today. A refusal raises (its detail names the
    customer); the caller rolls back."""
    payload = json.dumps([{"customer_id": str(c), "amount": str(a)} for c, a in entries])
    try:
        session.execute(OPENING_BALANCES, {"entries": payload, "user_id": user_id})
    except DBAPIError as error:
        refusal = _refusal(error)
        if refusal is not None:
            raise refusal from None
        raise
