"""Reading statement links: a customer's, for their page, and the one a token opens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from webapp.db import bind_tenant
from webapp.models import Business, Customer, StatementLink
from webapp.share import links
from webapp.share.forms import ShareForm

# The customer's page lists this many, newest first.
LISTED = 10


@dataclass(frozen=True)
class ListedLink:
    id: uuid.UUID
    purpose: str
    date_from: date
    date_to: date | None
    created_at: datetime
    created_by: uuid.UUID
    made_by: str
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    live: bool


CUSTOMER_LINKS = text(
    """SELECT l.id, l.purpose, l.date_from, l.date_to, l.created_at, l.created_by,
              m.name AS made_by, l.expires_at, l.revoked_at, r.name AS revoked_by,
              l.revoked_at IS NULL AND l.expires_at > now() AS live
         FROM statement_links l
         JOIN users m ON m.business_id = l.business_id AND m.id = l.created_by
         LEFT JOIN users r ON r.business_id = l.business_id AND r.id = l.revoked_by
        WHERE l.customer_id = :customer_id
        ORDER BY l.created_at DESC, l.id
        LIMIT :limit"""
)


def customer_links(session: Session, customer_id: uuid.UUID) -> list[ListedLink]:
    rows = session.execute(CUSTOMER_LINKS, {"customer_id": customer_id, "limit": LISTED})
    return [ListedLink(**row._mapping) for row in rows]


@dataclass(frozen=True)
class Opened:
    """What a live link shows: its business, customer and period."""

    business: Business
    customer: Customer
    link: StatementLink


LOOKUP = text("SELECT business_id, link_id FROM statement_link_lookup(:token_hash)")


def open_link(session: Session, token: str) -> Opened | None:
    """The live link this token opens, with the session bound to its business from here on;
    None for a token that is malformed, unknown, changed in any character, made under another
    key, revoked, expired, or of a customer whose details were erased — all alike."""
    if not links.well_formed(token):
        return None
    found = session.execute(LOOKUP, {"token_hash": links.hash_token(token)}).one_or_none()
    if found is None or not links.made_here(found.link_id, token):
        return None
    bind_tenant(session, found.business_id)
    link = session.scalars(
        select(StatementLink).where(
            StatementLink.business_id == found.business_id, StatementLink.id == found.link_id
        )
    ).one()
    customer = session.scalars(
        select(Customer).where(
            Customer.business_id == link.business_id, Customer.id == link.customer_id
        )
    ).one()
    business = session.scalars(select(Business).where(Business.id == link.business_id)).one()
    return Opened(business, customer, link)


def customer_page(session: Session, customer_id: uuid.UUID) -> dict[str, object]:
    """What the customer's page needs for its "Statement links" section."""
    return {
        "shared_links": customer_links(session, customer_id),
        "share_form": ShareForm(formdata=None),
        "link_address": links.address,
    }
