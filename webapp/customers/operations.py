"""Customers as the shop enters them: the rules for their fields, and every change of a customer.

One set of rules for the pages, the API and CSV imports, so each says the same thing about the
same mistake. `customer_fields` reads raw values (form text, JSON values or CSV cells) and
returns the cleaned values with a message per field; the functions below it write them
(row-level security keeps them to the bound business). `add_customer`, `edit_customer` and
`set_archived` are each one committed unit of work; `create_customers` writes in the caller's
transaction (an import's). A new customer whose credit limit nobody set (a clerk's, who may not
set one) gets the shop's default credit limit (Settings). `no_credit_message` says why a customer
cannot buy on credit, wherever a page offers a sale.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from sqlalchemy import text
from sqlalchemy.orm import Session

from webapp import ledger
from webapp.activity import log as activity
from webapp.customers.queries import customer_with_key
from webapp.db import TENANT_KEY, committed, unit_of_work
from webapp.formatting import money
from webapp.idempotency import create_once, fingerprint
from webapp.inputs import EMAIL_PATTERN, Problems, limited, money_field, text_field
from webapp.models import Customer
from webapp.refusal import Refused


@dataclass(frozen=True)
class CustomerFields:
    name: str
    phone: str
    email: str
    notes: str
    # None: not given (a clerk's form, an API call without one): a new customer gets the
    # shop's default credit limit, an edited one keeps theirs.
    credit_limit: Decimal | None


def customer_fields(
    raw: Mapping[str, Any], *, with_limit: bool
) -> tuple[CustomerFields | None, Problems]:
    """Name (required), phone, email, notes, and the credit limit when `with_limit`."""
    problems: Problems = {}
    name = limited(text_field(raw, "name"), "name", gettext("The name"), 120, problems)
    if not name and "name" not in problems:
        problems["name"] = gettext("Enter the customer's name.")
    phone = limited(text_field(raw, "phone"), "phone", gettext("The phone number"), 40, problems)
    email = limited(text_field(raw, "email"), "email", gettext("The email address"), 254, problems)
    if email and "email" not in problems and not EMAIL_PATTERN.match(email):
        problems["email"] = gettext("That is not an email address.")
    notes = limited(
        text_field(raw, "notes"), "notes", gettext("The notes"), 2000, problems, multiline=True
    )
    limit = money_field(
        raw.get("credit_limit"), gettext("The credit limit"), problems, "credit_limit"
    )
    if problems:
        return None, problems
    return CustomerFields(name, phone, email, notes, limit if with_limit else None), problems


DEFAULT_CREDIT_LIMIT = text("SELECT default_credit_limit FROM businesses WHERE id = :business_id")


def default_credit_limit(session: Session) -> Decimal:
    """The credit limit a new customer gets when whoever adds them sets none: the bound
    business's setting (0, no credit, unless an owner chose another in Settings)."""
    limit = session.scalar(DEFAULT_CREDIT_LIMIT, {"business_id": session.info[TENANT_KEY]})
    return Decimal(limit) if limit is not None else Decimal("0.00")


def opening_balance(raw: Mapping[str, Any], problems: Problems) -> Decimal:
    return money_field(
        raw.get("opening_balance"), gettext("The opening balance"), problems, "opening_balance"
    )


@dataclass(frozen=True)
class NewCustomer:
    """A customer to create: their fields, what they owed before ShopCredit, and, when a page or
    API client asked, the key it sent and its request's fingerprint. Ids are the server's."""

    fields: CustomerFields
    opening: Decimal = Decimal("0.00")
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    key: uuid.UUID | None = None
    request_hash: uuid.UUID | None = None


def add_customer(
    session: Session,
    fields: CustomerFields,
    *,
    user_id: uuid.UUID,
    key: uuid.UUID,
    opening: Decimal = Decimal("0.00"),
) -> tuple[Customer, bool]:
    """A new customer, committed, made once for its idempotency key: the same form or POST sent
    again answers with the customer it made (False: made before); the key with other details
    raises KeyReused. An opening balance goes through the ledger (a sale without items, within
    the credit limit); its refusal raises."""
    request = fingerprint(customer=asdict(fields), opening=opening)

    def make() -> Customer:
        new = NewCustomer(fields, opening, key=key, request_hash=request)
        [customer] = create_customers(session, [new], user_id=user_id)
        return customer

    customer, created = create_once(session, lambda: customer_with_key(session, key), make, request)
    if created and opening > 0:
        session.refresh(customer)  # the balance the ledger wrote
    return customer, created


def create_customers(
    session: Session, entries: list[NewCustomer], *, user_id: uuid.UUID
) -> list[Customer]:
    """Many new customers in one batch of inserts, then every opening balance in one ledger
    call, so an import of thousands holds its locks briefly. In the caller's transaction;
    refusals raise ledger errors naming the customer. A customer without a credit limit of
    their own gets the shop's default."""
    default = (
        default_credit_limit(session)
        if any(new.fields.credit_limit is None for new in entries)
        else Decimal("0.00")
    )
    customers = [
        Customer(
            business_id=session.info[TENANT_KEY],
            id=new.id,
            name=new.fields.name,
            phone=new.fields.phone,
            email=new.fields.email,
            notes=new.fields.notes,
            credit_limit=default if new.fields.credit_limit is None else new.fields.credit_limit,
            idempotency_key=new.key,
            request_hash=new.request_hash,
        )
        for new in entries
    ]
    session.add_all(customers)
    session.flush()
    openings = [(new.id, new.opening) for new in entries if new.opening > 0]
    if openings:
        ledger.record_opening_balances(session, openings, user_id=user_id)
    return customers


def edit_customer(
    session: Session,
    customer: Customer,
    fields: CustomerFields,
    *,
    actor_id: uuid.UUID,
    reason: str = "",
) -> Customer:
    """Save the details (and, from an owner, the credit limit), committed. Only these columns
    are written, never the balance, which the ledger keeps. A new credit limit goes in the
    activity log with `reason`, from the limit as it stood under the customer's lock (another
    owner may have changed it since the form was shown)."""
    with committed(session):
        session.refresh(customer, with_for_update={"key_share": True})  # FOR NO KEY UPDATE
        before = customer.credit_limit
        customer.name, customer.phone = fields.name, fields.phone
        customer.email, customer.notes = fields.email, fields.notes
        if fields.credit_limit is not None and fields.credit_limit != before:
            customer.credit_limit = fields.credit_limit
            activity.record(
                session,
                kind="credit_limit",
                summary=f"Credit limit of {fields.name}: "
                f"{activity.amount(before)} → {activity.amount(fields.credit_limit)}",
                user_id=actor_id,
                before={"credit_limit": before},
                after={"credit_limit": fields.credit_limit},
                reason=reason,
                customer_id=customer.id,
            )
    session.refresh(customer)
    return customer


def set_archived(session: Session, customer: Customer, *, archived: bool) -> None:
    """Archive (cannot buy on credit, can still pay) or bring back a customer, committed."""
    with committed(session):
        customer.is_archived = archived


def over_limit_message(customer: Customer) -> str | None:
    """What to say when a customer owes more than the limit (an owner lowered it below the
    balance, which is allowed): they can pay, not buy."""
    if customer.balance <= customer.credit_limit:
        return None
    return (
        f"{customer.name} owes {money(customer.balance)}, more than the credit limit of "
        f"{money(customer.credit_limit)}, and cannot buy on credit until they pay at least "
        f"{money(customer.balance - customer.credit_limit)}."
    )


def no_credit_message(customer: Customer) -> str | None:
    """Why a customer has no credit available, and who can change it; None when they have some
    (or are archived, which the page says in its own words). The one wording for every page
    that offers a sale."""
    if customer.is_archived or customer.available_credit > 0:
        return None
    over = over_limit_message(customer)
    if over:
        return over
    if customer.credit_limit == 0:
        return gettext(
            "No credit available: the credit limit is %(credit_limit)s. "
            "An owner can set one on Edit.",
            credit_limit=money(customer.credit_limit),
        )
    return gettext(
        "No credit available: %(name)s owes %(balance)s, the whole "
        "credit limit. They must pay before they can buy more on "
        "credit.",
        name=customer.name,
        balance=money(customer.balance),
    )


ERASED_NAME = "Erased customer"


class StillOwes(Refused):
    """A customer who owes something cannot be erased: the shop must still be able to ask."""


@unit_of_work
def erase_customer(session: Session, customer: Customer) -> None:
    """Erase what identifies the customer, on their request: name, phone, email and notes are
    blanked and the customer archived; sales, payments and every figure stay, so the ledger
    still adds up. Only for someone who owes nothing (refused: StillOwes). Locks the customer's
    row first, as the ledger does, so no sale can come in between the check and the erasure."""
    balance = session.execute(LOCK_FOR_ERASURE, {"id": customer.id}).scalar_one()
    if balance != 0:
        raise StillOwes(
            gettext(
                "%(name)s still owes %(balance)s: a customer can be erased once they owe nothing.",
                name=customer.name,
                balance=money(balance),
            )
        )
    session.execute(ERASE, {"id": customer.id, "name": ERASED_NAME})
    session.expire(customer)


LOCK_FOR_ERASURE = text("SELECT balance FROM customers WHERE id = :id FOR NO KEY UPDATE")
ERASE = text(
    """UPDATE customers
          SET name = :name, phone = '', email = '', notes = '', is_archived = true,
              erased_at = now()
        WHERE id = :id"""
)
