"""Calls the locked ledger functions in SQL and turns their refusals into Python exceptions.

Each refusal has its own SQLSTATE and a JSON DETAIL with its facts; nothing here ever reads a
message string. Every call is its own transaction: committed on success, rolled back on any
refusal, and retried a bounded number of times on a deadlock or serialization failure.

A call's locks (its customer, products, its shop's counter) are released when its transaction
ends. With a synchronous commit that is after its commit record has reached the disk, so one
shop's sales passed their counter one `fdatasync` at a time. So the call commits without waiting
for the flush (`synchronous_commit = off` for that transaction only: its locks go as soon as the
commit record is written), and before anything is answered one tiny statement that writes WAL
commits with the usual wait (`_make_durable`): its flush covers the call's commit record, which
precedes it in the one WAL sequence. What is acknowledged is exactly as durable as before; a crash
between the two loses the call together with every later commit (the WAL has no holes), so the
shop's numbers stay without gaps, and the caller, answered with an error, sends it again under
its idempotency key.

Each function takes the business as its first argument: the tenant bound to the session
(`session.info[TENANT_KEY]`), which the database checks against the one bound to the
transaction. A session with no tenant bound is refused here, before any SQL (`NoTenantBound`).
The functions' definitions are in webapp/sql/functions/<name>.sql.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from flask_babel import lazy_gettext
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from webapp.db import LOCK_NOT_AVAILABLE, TENANT_KEY, UNIQUE_VIOLATION, sqlstate
from webapp.serving import logs, metrics

log = logging.getLogger(__name__)

# Serialization failure and deadlock; and a unique violation, which only two tills racing on
# one idempotency key can cause: run again, the key is then found and answered properly.
RETRYABLE = frozenset({"40001", "40P01", UNIQUE_VIOLATION})
ATTEMPTS = 3
CENT = Decimal("0.01")


class NoTenantBound(RuntimeError):
    """A ledger call on a session with no business bound: a mistake in the caller, not a
    refusal a person could act on."""


def _business_id(session: Session) -> uuid.UUID:
    """The tenant bound to the session: the ledger functions' first argument."""
    business_id = session.info.get(TENANT_KEY)
    if business_id is None:
        raise NoTenantBound(
            "No business is bound to this session (session.info[TENANT_KEY]); "
            "bind one (webapp.db.bind_tenant) before calling the ledger."
        )
    return uuid.UUID(str(business_id))


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

    @property
    def lines(self) -> list[ShortLine]:
        """Every short line, in the order entered (the first is the one named above)."""
        return [
            ShortLine(uuid.UUID(line["product_id"]), int(line["requested"]), int(line["available"]))
            for line in self.detail.get("lines", [])
        ]


@dataclass(frozen=True)
class ShortLine:
    product_id: uuid.UUID
    requested: int  # all of the sale's lines of this product together
    available: int


class CreditLimitExceeded(LedgerError):
    sqlstate = "SC002"

    @property
    def available_credit(self) -> Decimal:
        return Decimal(str(self.detail["available_credit"])).quantize(CENT)


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

    @property
    def lines(self) -> list[tuple[int, str]]:
        """Every line at fault, (1-based line, message), when lines were at fault."""
        return [(int(bad["line"]), str(bad["message"])) for bad in self.detail.get("lines", [])]


class PaymentExceedsBalance(LedgerError):
    sqlstate = "SC005"

    @property
    def balance(self) -> Decimal:
        return Decimal(str(self.detail["balance"])).quantize(CENT)


class CustomerArchived(LedgerError):
    sqlstate = "SC006"


class IdempotencyKeyReused(LedgerError):
    sqlstate = "SC007"


class NotPermitted(LedgerError):
    """The user (or the token's maker) may not do this: "owner_only", "not_own_sale" or
    "too_late" (a clerk's correction after the shop's minutes)."""

    sqlstate = "SC008"

    @property
    def reason(self) -> str:
        return str(self.detail.get("reason", ""))


class NothingToReturn(LedgerError):
    sqlstate = "SC009"


class MoreThanReturnable(LedgerError):
    """More of a product than is still unreturned on the sale (or an amount beyond what is left
    on a sale without items: then `field` is "amount")."""

    sqlstate = "SC010"

    @property
    def product_id(self) -> uuid.UUID | None:
        value = self.detail.get("product_id")
        return uuid.UUID(value) if value else None

    @property
    def returnable(self) -> Decimal:
        return Decimal(str(self.detail["returnable"]))


class AlreadyReversed(LedgerError):
    sqlstate = "SC011"


class PartlyRefunded(LedgerError):
    sqlstate = "SC012"

    @property
    def refunded(self) -> Decimal:
        return Decimal(str(self.detail["refunded"])).quantize(CENT)


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
        NotPermitted,
        NothingToReturn,
        MoreThanReturnable,
        AlreadyReversed,
        PartlyRefunded,
        Busy,
    )
}


def _refusal(error: DBAPIError) -> LedgerError | None:
    cls = REFUSALS.get(sqlstate(error) or "")
    if cls is None:
        return None
    # A refusal's SQLSTATE comes only from psycopg, whose errors carry their diagnostics.
    diag = error.orig.diag if isinstance(error.orig, psycopg.Error) else None
    try:
        detail = json.loads(getattr(diag, "message_detail", None) or "{}")
    except ValueError:
        detail = {}
    return cls(getattr(diag, "message_primary", None) or cls.__name__, detail)


def _function_name(sql: Any) -> str:
    """The ledger function a statement calls (`process_purchase`): its metrics' label."""
    found = re.search(r"\b(?:FROM|SELECT)\s+(\w+)\(", str(sql))
    return found.group(1) if found else "unknown"


def _refused(function: str, refusal: LedgerError) -> LedgerError:
    """Count and log a refusal (its kind only: the facts stay with the caller)."""
    reason = metrics.snake(type(refusal).__name__)
    metrics.ledger_outcome(function, "refused", reason)
    level = logging.WARNING if isinstance(refusal, Busy) else logging.INFO
    logs.event(log, "ledger_refused", level, function=function, reason=reason)
    return refusal


# The ledger call's transaction commits without waiting for its WAL to reach the disk ...
RELEASE_BEFORE_FLUSH = text("SET LOCAL synchronous_commit = off")
# ... and this, committed on its own with the server's usual wait, flushes the WAL past it. A
# transactional message is the smallest write that takes a transaction id and so a commit record
# that waits for its flush (PostgreSQL 17 could say `flush => true` instead); it touches no table
# and is ignored by everything but logical decoding.
FLUSH = text("SELECT pg_logical_emit_message(true, 'shopcredit', 'ledger')")


def _make_durable(session: Session) -> None:
    """Wait until everything committed so far, the ledger call included, is on disk (and at
    any synchronous standby): one round trip on any connection to the same server, in
    autocommit, so it needs neither a tenant nor a transaction of the session's."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(FLUSH)


def _call(session: Session, sql: Any, params: dict[str, Any]) -> Any:
    """Run one ledger function as its own transaction; return its single row once it is as
    durable as the server's commits are."""
    function = _function_name(sql)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            session.execute(RELEASE_BEFORE_FLUSH)
            row = session.execute(sql, params).one()
            session.commit()
        except DBAPIError as error:
            session.rollback()
            refusal = _refusal(error)
            if refusal is not None:
                raise _refused(function, refusal) from None
            if sqlstate(error) in RETRYABLE and attempt < ATTEMPTS:
                metrics.ledger_retry(function, sqlstate(error))
                continue
            raise
        _make_durable(session)
        # Every ledger function says whether it recorded, or found its idempotency key.
        created = getattr(row, "created", True)
        metrics.ledger_outcome(function, "recorded" if created else "replayed")
        return row
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
    number: int
    overridden: bool  # recorded over the credit limit with an owner's override


PURCHASE = text(
    """SELECT order_id, created, total, balance_after, due_on, number, overridden
         FROM process_purchase(:business_id, :customer_id, CAST(:items AS jsonb),
                               :idempotency_key, :user_id, :api_token_id, :amount, :note,
                               :override_reason)"""
)


def purchase(
    session: Session,
    *,
    customer_id: uuid.UUID,
    lines: list[Line],
    idempotency_key: uuid.UUID,
    user_id: uuid.UUID,
    api_token_id: uuid.UUID | None = None,
    amount: Decimal | None = None,
    note: str = "",
    override_reason: str | None = None,
) -> Sale:
    """Record a sale on the customer's account (see webapp/sql/functions/process_purchase.sql):
    `lines` in the order entered, or, for a quick entry, no lines and an `amount` with a
    `note` saying what it was for. With `override_reason`, an owner records it even over the
    customer's credit limit."""
    business_id = _business_id(session)
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
            "business_id": business_id,
            "customer_id": customer_id,
            "items": items,
            "idempotency_key": idempotency_key,
            "user_id": user_id,
            "api_token_id": api_token_id,
            "amount": amount,
            "note": note,
            "override_reason": override_reason,
        },
    )
    return Sale(
        row.order_id,
        row.created,
        row.total,
        row.balance_after,
        row.due_on,
        row.number,
        row.overridden,
    )


PAYMENT_METHODS = {
    "cash": lazy_gettext("Cash"),
    "card": lazy_gettext("Card"),
    "bank_transfer": lazy_gettext("Bank transfer"),
    "mobile_money": lazy_gettext("Mobile money"),
    "other": lazy_gettext("Other"),
}


def method_label(method: str) -> str:
    """A payment method in the reader's language."""
    return str(PAYMENT_METHODS.get(method, method))


@dataclass(frozen=True)
class Allocation:
    order_id: uuid.UUID
    amount: Decimal


@dataclass(frozen=True)
class Receipt:
    payment_id: uuid.UUID
    created: bool  # False when the idempotency key named a payment already recorded
    balance_after: Decimal
    allocations: list[Allocation]  # in the order applied: the named sale first, then oldest due
    number: int


# The allocations as text: read here with Decimal amounts, never through a float.
PAYMENT = text(
    """SELECT payment_id, created, balance_after, CAST(allocations AS text) AS allocations, number
         FROM record_payment(:business_id, :customer_id, :amount, :method, :note,
                             :idempotency_key, :user_id, :order_id, :api_token_id)"""
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
    """Record a payment and how it was applied, in one call and one transaction (see
    webapp/sql/functions/record_payment.sql)."""
    business_id = _business_id(session)
    row = _call(
        session,
        PAYMENT,
        {
            "business_id": business_id,
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
        Allocation(uuid.UUID(share["order_id"]), Decimal(str(share["amount"])).quantize(CENT))
        for share in json.loads(row.allocations, parse_float=Decimal)
    ]
    return Receipt(row.payment_id, row.created, row.balance_after, allocations, row.number)


@dataclass(frozen=True)
class Return:
    return_id: uuid.UUID
    created: bool  # False when the idempotency key named a return already recorded
    number: int
    amount: Decimal  # what the goods (or the amount) taken back came to
    refund: Decimal  # of that, money given back to the customer
    balance_after: Decimal
    order_number: int


RETURN = text(
    """SELECT return_id, created, number, amount, refund, balance_after, order_number
         FROM record_return(:business_id, :order_id, CAST(:items AS jsonb), :amount, :void,
                            :reason, :refund_method, :idempotency_key, :user_id,
                            :api_token_id)"""
)


def record_return(
    session: Session,
    *,
    order_id: uuid.UUID,
    reason: str,
    idempotency_key: uuid.UUID,
    user_id: uuid.UUID,
    lines: list[Line] | None = None,
    amount: Decimal | None = None,
    void: bool = False,
    refund_method: str | None = None,
    api_token_id: uuid.UUID | None = None,
) -> Return:
    """Take goods (`lines`), or an `amount` off a sale without items, back from a sale; or,
    with `void`, everything still unreturned (see webapp/sql/functions/record_return.sql)."""
    business_id = _business_id(session)
    try:
        items = (
            json.dumps([line.as_json() for line in lines], allow_nan=False)
            if lines is not None
            else None
        )
    except ValueError:
        raise InvalidInput(
            "each item needs a product and a whole quantity from 1 to 100000", {"field": "items"}
        ) from None
    row = _call(
        session,
        RETURN,
        {
            "business_id": business_id,
            "order_id": order_id,
            "items": items,
            "amount": amount,
            "void": void,
            "reason": reason,
            "refund_method": refund_method,
            "idempotency_key": idempotency_key,
            "user_id": user_id,
            "api_token_id": api_token_id,
        },
    )
    return Return(
        row.return_id,
        row.created,
        row.number,
        row.amount,
        row.refund,
        row.balance_after,
        row.order_number,
    )


@dataclass(frozen=True)
class Reversal:
    created: bool  # False when the idempotency key named this reversal already recorded
    number: int  # the reversed payment's
    balance_after: Decimal
    customer_id: uuid.UUID


REVERSAL = text(
    """SELECT created, number, balance_after, customer_id
         FROM reverse_payment(:business_id, :payment_id, :reason, :idempotency_key, :user_id,
                              :api_token_id)"""
)


def reverse_payment(
    session: Session,
    *,
    payment_id: uuid.UUID,
    reason: str,
    idempotency_key: uuid.UUID,
    user_id: uuid.UUID,
    api_token_id: uuid.UUID | None = None,
) -> Reversal:
    """Undo a payment's allocations, an owner's act with a reason (see
    webapp/sql/functions/reverse_payment.sql)."""
    business_id = _business_id(session)
    row = _call(
        session,
        REVERSAL,
        {
            "business_id": business_id,
            "payment_id": payment_id,
            "reason": reason,
            "idempotency_key": idempotency_key,
            "user_id": user_id,
            "api_token_id": api_token_id,
        },
    )
    return Reversal(row.created, row.number, row.balance_after, row.customer_id)


@dataclass(frozen=True)
class StockChange:
    movement_id: uuid.UUID
    created: bool  # False when the idempotency key named a change already recorded
    change: int  # 0: a count that matched the stock (recorded too, as a count)
    resulting_stock: int


STOCK_REASONS = {
    "delivery": lazy_gettext("Delivery"),
    "count_correction": lazy_gettext("Count correction"),
    "damage": lazy_gettext("Damage"),
}

ADJUST_STOCK = text(
    """SELECT movement_id, created, change, resulting_stock
         FROM adjust_stock(:business_id, :product_id, :change, :reason, :note,
                           :idempotency_key, :user_id, :counted)"""
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
    """Restock or correct one product's stock (see webapp/sql/functions/adjust_stock.sql):
    either by `change`, or, for a count correction, to the `counted` stock."""
    business_id = _business_id(session)
    row = _call(
        session,
        ADJUST_STOCK,
        {
            "business_id": business_id,
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


OPENING_BALANCES = text(
    "SELECT record_opening_balances(:business_id, CAST(:entries AS jsonb), :user_id)"
)


def record_opening_balances(
    session: Session, entries: list[tuple[uuid.UUID, Decimal]], *, user_id: uuid.UUID
) -> None:
    """Inside the caller's transaction (a new customer, an import): what customers owed before
    ShopCredit, each as a sale without items made today (see
    webapp/sql/functions/record_opening_balances.sql). A refusal raises (its detail names the
    customer); the caller rolls back."""
    business_id = _business_id(session)
    payload = json.dumps([{"customer_id": str(c), "amount": str(a)} for c, a in entries])
    params = {"business_id": business_id, "entries": payload, "user_id": user_id}
    try:
        session.execute(OPENING_BALANCES, params)
    except DBAPIError as error:
        refusal = _refusal(error)
        if refusal is not None:
            raise _refused("record_opening_balances", refusal) from None
        raise
    # Counted when called: the caller's transaction may still roll back.
    metrics.ledger_outcome("record_opening_balances", "recorded")
