"""What the activity pages read: the log, filtered, newest first. Row-level security keeps every
query to the signed-in business."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from webapp.listing import ListFilter, Page, filter_clause, page_of


@dataclass(frozen=True)
class ActivityFilter(ListFilter):
    """The list's filters: kind, who did it, and (from a product's page) the product, besides
    the customer and dates every list has."""

    kind: str | None = None
    user_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "kind": self.kind,
            "user_id": self.user_id,
            "product_id": self.product_id,
        }


# Who: the user (for an API call, the token's maker) and the token; the customer and product a
# line is about, by their names today (an erased customer shows as erased).
_ACTIVITY_FROM = f"""
    FROM activity_log a
    JOIN businesses b ON b.id = a.business_id
    LEFT JOIN users u ON u.business_id = a.business_id AND u.id = a.user_id
    LEFT JOIN api_tokens t ON t.business_id = a.business_id AND t.id = a.api_token_id
    LEFT JOIN customers c ON c.business_id = a.business_id AND c.id = a.customer_id
    LEFT JOIN products p ON p.business_id = a.business_id AND p.id = a.product_id
   WHERE {filter_clause("a", moment="at", numbered=False)}
     AND (CAST(:kind AS text) IS NULL OR a.kind = :kind)
     AND (CAST(:user_id AS uuid) IS NULL OR a.user_id = :user_id)
     AND (CAST(:product_id AS uuid) IS NULL OR a.product_id = :product_id)
"""
_COLUMNS = """a.id, a.at, a.kind, a.summary, a.before, a.after, a.reason, a.user_id,
              a.customer_id, a.product_id, a.order_id, a.payment_id, a.return_id,
              u.name AS user_name, t.name AS token_name,
              c.name AS customer_name, p.name AS product_name"""
ACTIVITY_PAGE = text(
    f"""SELECT {_COLUMNS}
        {_ACTIVITY_FROM}
         ORDER BY a.at DESC, a.id DESC
         LIMIT :limit OFFSET :offset"""
)
ACTIVITY_COUNT = text(f"SELECT count(*) {_ACTIVITY_FROM}")
ACTIVITY_ALL = text(f"SELECT {_COLUMNS} {_ACTIVITY_FROM} ORDER BY a.at DESC, a.id DESC")


@dataclass(frozen=True)
class ActivityPage:
    rows: list[Row[Any]]
    page: Page
    count: int  # of every line the filter matches


def list_activity(session: Session, filters: ActivityFilter, page: Page) -> ActivityPage:
    params = filters.params()
    rows = session.execute(ACTIVITY_PAGE, {**params, "limit": page.size + 1, "offset": page.offset})
    shown, page = page_of(list(rows), page)
    return ActivityPage(shown, page, session.scalar(ACTIVITY_COUNT, params) or 0)


def all_activity(session: Session, filters: ActivityFilter) -> list[Row[Any]]:
    """Every line the filter matches (the CSV), newest first."""
    return list(session.execute(ACTIVITY_ALL, filters.params()))


def latest_activity(
    session: Session,
    *,
    customer_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    limit: int = 5,
) -> list[Row[Any]]:
    """A customer's or a product's latest lines, for their page."""
    filters = ActivityFilter(customer_id=customer_id, product_id=product_id)
    rows = session.execute(ACTIVITY_PAGE, {**filters.params(), "limit": limit, "offset": 0})
    return list(rows)


STAFF = text("SELECT id, name, is_active FROM users ORDER BY is_active DESC, lower(name), id")


def staff_choices(session: Session) -> list[Row[Any]]:
    """Everyone who could have done something: the shop's users, deactivated ones too."""
    return list(session.execute(STAFF))


SUBJECT = text(
    """SELECT coalesce((SELECT name FROM customers WHERE id = :customer_id),
                       (SELECT name FROM products WHERE id = :product_id))"""
)


def subject_name(
    session: Session, customer_id: uuid.UUID | None, product_id: uuid.UUID | None
) -> str | None:
    """The name of the customer or product the list is narrowed to (None: another shop's or
    unknown, which row-level security hides)."""
    if customer_id is None and product_id is None:
        return None
    name: str | None = session.scalar(
        SUBJECT, {"customer_id": customer_id, "product_id": product_id}
    )
    return name
