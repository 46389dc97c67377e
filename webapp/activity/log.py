"""Writing the activity log: one line per change that matters, in the change's own transaction.

The ledger functions write their own lines (returns, voids, refunds, reversals, overrides, stock
corrections). Everything else that is logged — a credit limit, a price, staff, settings, API
tokens — is written here, by the feature's `operations.py`, in the session of the change: the
line commits with it or not at all. The app role may only add lines (migration 0015), never change
or remove one. Never put a password, a hash or a token's value in a line.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy.orm import Session

from webapp.db import TENANT_KEY
from webapp.models import ActivityEntry

# The kinds migration 0015 allows, in the words the pages use.
KIND_LABELS = {
    "return": lazy_gettext("Return"),
    "void": lazy_gettext("Void"),
    "refund": lazy_gettext("Refund"),
    "reversal": lazy_gettext("Payment reversal"),
    "override": lazy_gettext("Credit-limit override"),
    "credit_limit": lazy_gettext("Credit limit"),
    "price": lazy_gettext("Price"),
    "stock": lazy_gettext("Stock correction"),
    "staff": lazy_gettext("Staff"),
    "settings": lazy_gettext("Settings"),
    "api_token": lazy_gettext("API token"),
    "statement_link": lazy_gettext("Statement link"),
}
SUMMARY_MAX = 500  # the column's CHECK
REASON_MAX = 500
# Who did it when no one signed in: the admin commands (create-user, create-api-token, demo).
ADMIN_COMMAND = "an admin command"


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def amount(value: Decimal) -> str:
    """Money as the log writes it: grouped, two decimals, no currency ("5,000.00"), the same in
    every locale, so a line reads the same whoever looks at it later."""
    return f"{value:,.2f}"


def _plain(value: Any) -> Any:
    """What JSON can hold: money as a string with two decimals (as the API writes it), ids as
    strings."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def record(
    session: Session,
    *,
    kind: str,
    summary: str,
    user_id: uuid.UUID | None,
    api_token_id: uuid.UUID | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    customer_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    business_id: uuid.UUID | None = None,
) -> ActivityEntry:
    """Add one line to the log in `session`'s transaction (flushed with it, committed with it).

    `user_id`: who (None for an admin command); `api_token_id` when it came through the API.
    `business_id` defaults to the business bound to the session (admin commands name it)."""
    if kind not in KIND_LABELS:
        raise ValueError(f"unknown activity kind {kind!r}")
    entry = ActivityEntry(
        business_id=business_id or session.info[TENANT_KEY],
        id=uuid.uuid4(),
        user_id=user_id,
        api_token_id=api_token_id,
        kind=kind,
        summary=shorten(" ".join(summary.split()), SUMMARY_MAX),
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        reason=shorten(reason.strip(), REASON_MAX),
        customer_id=customer_id,
        product_id=product_id,
    )
    session.add(entry)
    return entry
