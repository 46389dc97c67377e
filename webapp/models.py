"""One mapped class per table (the schema itself lives in sql/migrations, the SQL functions in
sql/functions)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKeyConstraint, Numeric, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

Money = Numeric(12, 2, asdecimal=True)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}  # noqa: RUF012 (SQLAlchemy's hook)


class Business(Base):
    __tablename__ = "businesses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    slug: Mapped[str]
    name: Mapped[str]
    currency: Mapped[str]
    timezone: Mapped[str]
    credit_days: Mapped[int] = mapped_column(default=30)
    address: Mapped[str] = mapped_column(default="")
    phone: Mapped[str] = mapped_column(default="")
    low_stock_threshold: Mapped[int] = mapped_column(default=5)
    default_credit_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    receipt_paper: Mapped[str] = mapped_column(default="a4")  # a4, 80mm or 58mm
    api_requests_per_minute: Mapped[int] = mapped_column(default=600)  # per API token
    owners_need_two_factor: Mapped[bool] = mapped_column(default=False)
    clerk_correction_minutes: Mapped[int] = mapped_column(default=30)  # returns, voids
    payment_instructions: Mapped[str] = mapped_column(default="")  # "M-Pesa till 123456"
    reminder_template: Mapped[str] = mapped_column(default="")  # empty: the built-in text
    locale: Mapped[str] = mapped_column(default="en")  # how money and dates are written
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TenantRow(Base):
    """A row of one business: primary key (business_id, id)."""

    __abstract__ = True

    business_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class MadeOnRequest:
    """A row a page or an API client creates: the idempotency key it sent (unique per shop) and
    its request's fingerprint (webapp.idempotency). Its id is the server's."""

    idempotency_key: Mapped[uuid.UUID | None]
    request_hash: Mapped[uuid.UUID | None]


class User(UserMixin, MadeOnRequest, TenantRow):  # type: ignore[misc]  # Flask-Login ships no types
    __tablename__ = "users"
    # The three plain attributes below are the request's (set by auth.access.load_user and at
    # sign-in), not columns.
    __allow_unmapped__ = True

    email: Mapped[str]
    name: Mapped[str]
    password_hash: Mapped[str]
    role: Mapped[str]
    is_active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    # Set by `reset-password` (a one-time password): they change it before anything else.
    password_must_change: Mapped[bool] = mapped_column(default=False)
    # A second factor (webapp/auth/two_factor.py, migration 0014): the TOTP secret, encrypted;
    # on once confirmed (totp_enabled_at); the last 30-second step whose code was accepted.
    totp_secret: Mapped[str | None]
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    language: Mapped[str | None]  # of the interface; None: the shop's locale's (webapp/locales.py)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    business: Mapped[Business] = relationship(
        primaryjoin="User.business_id == Business.id",
        foreign_keys="User.business_id",
        lazy="joined",
        viewonly=True,
    )

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    # What the session cookie remembers: the business and the session's secret (only its hash
    # is in user_sessions); the session's id; whether a password was entered in it lately.
    cookie_id: str | None = None
    session_id: uuid.UUID | None = None
    password_recent: bool = False

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    def get_id(self) -> str:
        if self.cookie_id is None:
            raise RuntimeError("a user is signed in through auth.operations.start_session only")
        return self.cookie_id


class UserSession(TenantRow):
    """One sign-in: ends at sign-out, a password change, deactivation or a role change, and
    12 hours after it began whatever happens (migration 0013)."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        ForeignKeyConstraint(["business_id", "user_id"], ["users.business_id", "users.id"]),
    )

    user_id: Mapped[uuid.UUID]
    secret_hash: Mapped[str]
    user_version: Mapped[int]  # users.session_version when it began: an older one has ended
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    password_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None]


class Customer(MadeOnRequest, TenantRow):
    __tablename__ = "customers"

    name: Mapped[str]
    phone: Mapped[str] = mapped_column(default="")
    email: Mapped[str] = mapped_column(default="")
    notes: Mapped[str] = mapped_column(default="")
    credit_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    is_archived: Mapped[bool] = mapped_column(default=False)
    erased_at: Mapped[datetime | None]  # personal data erased on request (name etc. blanked)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    @property
    def available_credit(self) -> Decimal:
        return max(self.credit_limit - self.balance, Decimal("0.00"))


class Product(MadeOnRequest, TenantRow):
    __tablename__ = "products"

    name: Mapped[str]
    sku: Mapped[str | None]
    barcode: Mapped[str | None]
    price: Mapped[Decimal] = mapped_column(Money)
    stock: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # name_key and search_key are computed by PostgreSQL for the search (migration 0006) and
    # read only there: not mapped.


class ProductCode(Base):
    """One code (SKU or barcode, as `product_code()` writes it) of one product: the key
    (business_id, code) makes each code one product's. Written only by the products_codes
    trigger; the app reads it."""

    __tablename__ = "product_codes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["business_id", "product_id"], ["products.business_id", "products.id"]
        ),
    )

    business_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(primary_key=True)
    product_id: Mapped[uuid.UUID]
    kind: Mapped[str]


class ApiToken(MadeOnRequest, TenantRow):
    __tablename__ = "api_tokens"
    __table_args__ = (
        ForeignKeyConstraint(["business_id", "created_by"], ["users.business_id", "users.id"]),
    )

    name: Mapped[str]
    token_hash: Mapped[str]
    created_by: Mapped[uuid.UUID]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None]  # revoked (by an owner), maker_deactivated, unrecorded
    revoked_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Order(TenantRow):
    __tablename__ = "orders"
    __table_args__ = (
        ForeignKeyConstraint(
            ["business_id", "customer_id"], ["customers.business_id", "customers.id"]
        ),
        ForeignKeyConstraint(["business_id", "created_by"], ["users.business_id", "users.id"]),
    )

    customer_id: Mapped[uuid.UUID]
    total: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    due_on: Mapped[date]
    created_by: Mapped[uuid.UUID]
    api_token_id: Mapped[uuid.UUID | None]
    idempotency_key: Mapped[uuid.UUID]
    balance_after: Mapped[Decimal] = mapped_column(Money)  # what the customer owed after it
    is_opening_balance: Mapped[bool] = mapped_column(default=False)  # carried over, no items
    note: Mapped[str] = mapped_column(default="")  # what a quick entry (no items) was for
    number: Mapped[int]  # 1, 2, … per shop ("Sale 1042")
    returned: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    override_reason: Mapped[str | None]  # an owner's reason for going over the credit limit
    credit_limit: Mapped[Decimal | None] = mapped_column(Money)  # the limit when it was made
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    customer: Mapped[Customer] = relationship(viewonly=True)
    items: Mapped[list[OrderItem]] = relationship(viewonly=True, order_by="OrderItem.line_no")
    returns: Mapped[list[Return]] = relationship(viewonly=True, order_by="Return.number")

    @property
    def owed(self) -> Decimal:
        """What is still to pay on it: total − returned − paid."""
        return self.total - self.returned - self.paid

    @property
    def status(self) -> str:
        """voided (everything taken back), paid, or open."""
        if self.returned >= self.total:
            return "voided"
        return "paid" if self.owed <= 0 else "open"


class OrderItem(TenantRow):
    __tablename__ = "order_items"
    __table_args__ = (
        ForeignKeyConstraint(["business_id", "order_id"], ["orders.business_id", "orders.id"]),
        ForeignKeyConstraint(
            ["business_id", "product_id"], ["products.business_id", "products.id"]
        ),
    )

    order_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Money)
    line_no: Mapped[int]  # 1, 2, … as entered

    product: Mapped[Product] = relationship(viewonly=True)

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class Payment(TenantRow):
    __tablename__ = "payments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["business_id", "customer_id"], ["customers.business_id", "customers.id"]
        ),
        ForeignKeyConstraint(["business_id", "created_by"], ["users.business_id", "users.id"]),
    )

    customer_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(default="cash")
    note: Mapped[str] = mapped_column(default="")
    created_by: Mapped[uuid.UUID]
    api_token_id: Mapped[uuid.UUID | None]
    idempotency_key: Mapped[uuid.UUID]
    balance_after: Mapped[Decimal] = mapped_column(Money)  # what the customer owed after it
    number: Mapped[int]  # 1, 2, … per shop ("Payment 388")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    customer: Mapped[Customer] = relationship(viewonly=True)
    allocations: Mapped[list[PaymentAllocation]] = relationship(viewonly=True)
    reversal: Mapped[PaymentReversal | None] = relationship(viewonly=True)


class PaymentAllocation(TenantRow):
    __tablename__ = "payment_allocations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["business_id", "payment_id"], ["payments.business_id", "payments.id"]
        ),
        ForeignKeyConstraint(["business_id", "order_id"], ["orders.business_id", "orders.id"]),
    )

    payment_id: Mapped[uuid.UUID]
    order_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(Money)


class Return(TenantRow):
    """Goods (or an amount) taken back from one sale; a void takes back all that was left."""

    __tablename__ = "returns"
    __table_args__ = (
        ForeignKeyConstraint(["business_id", "order_id"], ["orders.business_id", "orders.id"]),
        ForeignKeyConstraint(
            ["business_id", "customer_id"], ["customers.business_id", "customers.id"]
        ),
        ForeignKeyConstraint(["business_id", "created_by"], ["users.business_id", "users.id"]),
    )

    number: Mapped[int]  # 1, 2, … per shop ("Return 12")
    order_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]
    is_void: Mapped[bool]
    amount: Mapped[Decimal] = mapped_column(Money)
    refund: Mapped[Decimal] = mapped_column(Money)
    refund_method: Mapped[str | None]
    reason: Mapped[str]
    created_by: Mapped[uuid.UUID]
    api_token_id: Mapped[uuid.UUID | None]
    idempotency_key: Mapped[uuid.UUID]
    balance_after: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    order: Mapped[Order] = relationship(viewonly=True)
    items: Mapped[list[ReturnItem]] = relationship(viewonly=True)


class ReturnItem(Base):
    __tablename__ = "return_items"
    __table_args__ = (
        ForeignKeyConstraint(["business_id", "return_id"], ["returns.business_id", "returns.id"]),
        ForeignKeyConstraint(
            ["business_id", "product_id"], ["products.business_id", "products.id"]
        ),
    )

    business_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    return_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Money)

    product: Mapped[Product] = relationship(viewonly=True)

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class PaymentReversal(TenantRow):
    __tablename__ = "payment_reversals"
    __table_args__ = (
        ForeignKeyConstraint(
            ["business_id", "payment_id"], ["payments.business_id", "payments.id"]
        ),
        ForeignKeyConstraint(["business_id", "created_by"], ["users.business_id", "users.id"]),
    )

    payment_id: Mapped[uuid.UUID]
    reason: Mapped[str]
    created_by: Mapped[uuid.UUID]
    api_token_id: Mapped[uuid.UUID | None]
    balance_after: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ActivityEntry(TenantRow):
    """One line of the append-only activity log: who changed what, from what to what, why."""

    __tablename__ = "activity_log"

    at: Mapped[datetime] = mapped_column(server_default=func.now())
    user_id: Mapped[uuid.UUID | None]
    api_token_id: Mapped[uuid.UUID | None]
    kind: Mapped[str]
    summary: Mapped[str]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(default="")
    customer_id: Mapped[uuid.UUID | None]
    product_id: Mapped[uuid.UUID | None]
    order_id: Mapped[uuid.UUID | None]
    payment_id: Mapped[uuid.UUID | None]
    return_id: Mapped[uuid.UUID | None]


class Reminder(TenantRow):
    """A reminder chosen for a customer (WhatsApp or SMS), with the text as it was sent."""

    __tablename__ = "reminders"

    customer_id: Mapped[uuid.UUID]
    channel: Mapped[str]
    message: Mapped[str]
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class StatementLink(MadeOnRequest, TenantRow):
    """A link that shows one customer's statement to whoever holds it (webapp/share), until it
    expires or is revoked. Only the hash of its token is kept."""

    __tablename__ = "statement_links"

    customer_id: Mapped[uuid.UUID]
    token_hash: Mapped[str]
    date_from: Mapped[date]
    date_to: Mapped[date | None]  # None: up to the day it is opened
    purpose: Mapped[str] = mapped_column(default="shared")  # shared (by hand) or reminder
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[uuid.UUID | None]


class DrawerCount(TenantRow):
    """One count of a drawer at the end of a day: expected against counted."""

    __tablename__ = "drawer_counts"

    day: Mapped[date]
    user_id: Mapped[uuid.UUID]  # whose drawer
    float_amount: Mapped[Decimal] = mapped_column(Money)
    expected: Mapped[Decimal] = mapped_column(Money)
    counted: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str] = mapped_column(default="")
    created_by: Mapped[uuid.UUID]
    idempotency_key: Mapped[uuid.UUID]
    request_hash: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    @property
    def difference(self) -> Decimal:
        """Over (more than zero) or short (less than zero)."""
        return self.counted - self.expected


class StockMovement(TenantRow):
    __tablename__ = "stock_movements"
    __table_args__ = (
        ForeignKeyConstraint(
            ["business_id", "product_id"], ["products.business_id", "products.id"]
        ),
        ForeignKeyConstraint(["business_id", "order_id"], ["orders.business_id", "orders.id"]),
        ForeignKeyConstraint(["business_id", "created_by"], ["users.business_id", "users.id"]),
    )

    product_id: Mapped[uuid.UUID]
    change: Mapped[int]
    reason: Mapped[str]
    resulting_stock: Mapped[int]
    order_id: Mapped[uuid.UUID | None]
    return_id: Mapped[uuid.UUID | None]
    note: Mapped[str] = mapped_column(default="")
    created_by: Mapped[uuid.UUID]
    idempotency_key: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Import(TenantRow):
    """One CSV import of customers or products, recorded once per upload."""

    __tablename__ = "imports"

    kind: Mapped[str]
    row_count: Mapped[int]
    idempotency_key: Mapped[uuid.UUID]
    # The preview it confirmed (made by the server, signed into the confirm form): unique, so a
    # preview is imported once, whatever key its confirm is sent with. None before 0011.
    preview_id: Mapped[uuid.UUID | None]
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class RecoveryCode(TenantRow):
    """One of a user's one-time recovery codes for the second factor, stored hashed."""

    __tablename__ = "recovery_codes"
    __table_args__ = (
        ForeignKeyConstraint(["business_id", "user_id"], ["users.business_id", "users.id"]),
    )

    user_id: Mapped[uuid.UUID]
    code_hash: Mapped[str]
    used_at: Mapped[datetime | None]
    discarded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


TENANT_TABLES = (
    "users",
    "user_sessions",
    "customers",
    "products",
    "product_codes",
    "api_tokens",
    "orders",
    "order_items",
    "payments",
    "payment_allocations",
    "stock_movements",
    "open_dues",
    "imports",
    "recovery_codes",
    "document_counters",
    "returns",
    "return_items",
    "refund_sources",
    "payment_reversals",
    "activity_log",
    "drawer_counts",
    "reminders",
    "sales_by_day",
    "sales_by_month",
    "sales_totals_by_day",
    "owed_by_day",
    "collections_by_day",
    "statement_links",
)
