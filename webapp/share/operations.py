"""Making and revoking statement links; the link a reminder carries.

Each change writes its activity-log line in its own transaction and never logs the token (only
the link's id, its period and when it expires)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from webapp import reports
from webapp.activity import log as activity
from webapp.db import unit_of_work
from webapp.idempotency import create_once, fingerprint
from webapp.models import Customer, StatementLink
from webapp.refusal import Refused
from webapp.share import links

DEFAULT_DAYS = 30
DAYS_CHOICES = (7, 30, 90)
# A reminder reuses the customer's reminder link while it has more than this left, so a week of
# reminders sends one address, and the customer is never sent one about to die.
REUSE_WHILE_LEFT = timedelta(days=7)
# A reminder's link shows the statement of the last 90 days (as the customer's page does) up to
# the day it is opened.
REMINDER_PERIOD_DAYS = 90

INSERT = text(
    """INSERT INTO statement_links (business_id, id, customer_id, token_hash, date_from, date_to,
                                    purpose, created_by, expires_at, idempotency_key,
                                    request_hash)
       VALUES (:business_id, :id, :customer_id, :token_hash, :date_from, :date_to, :purpose,
               :created_by, now() + make_interval(days => :days), :key, :request_hash)"""
)


def _make(
    session: Session,
    customer: Customer,
    *,
    user_id: uuid.UUID,
    date_from: date,
    date_to: date | None,
    days: int,
    purpose: str,
    key: uuid.UUID | None = None,
    request_hash: uuid.UUID | None = None,
) -> StatementLink:
    link_id = uuid.uuid4()
    session.execute(
        INSERT,
        {
            "business_id": customer.business_id,
            "id": link_id,
            "customer_id": customer.id,
            "token_hash": links.hash_token(links.token_for(link_id)),
            "date_from": date_from,
            "date_to": date_to,
            "purpose": purpose,
            "created_by": user_id,
            "days": days,
            "key": key,
            "request_hash": request_hash,
        },
    )
    link = session.scalars(
        select(StatementLink).where(
            StatementLink.business_id == customer.business_id, StatementLink.id == link_id
        )
    ).one()
    why = "for a reminder" if purpose == "reminder" else "to share"
    activity.record(
        session,
        kind="statement_link",
        summary=f"Statement link for {customer.name} made {why}, "
        f"open until {link.expires_at.date().isoformat()}",
        user_id=user_id,
        customer_id=customer.id,
        after={
            "link_id": link.id,
            "from": date_from.isoformat(),
            "to": date_to.isoformat() if date_to else "the day it is opened",
            "expires_at": link.expires_at.isoformat(timespec="minutes"),
        },
    )
    return link


def share_statement(
    session: Session,
    customer: Customer,
    *,
    user_id: uuid.UUID,
    date_from: date,
    date_to: date | None,
    days: int,
    key: uuid.UUID,
) -> tuple[StatementLink, bool]:
    """A new link to the customer's statement from `date_from` to `date_to` (None: up to the
    day it is opened), open for `days`; committed. The same form sent twice makes one link
    (its idempotency key); the key with other values raises KeyReused."""
    if customer.erased_at is not None:
        raise Refused("This customer's details were erased: their statement cannot be shared.")
    request_hash = fingerprint(
        customer=customer.id, date_from=date_from, date_to=date_to, days=days
    )

    def find() -> StatementLink | None:
        return session.scalars(
            select(StatementLink).where(
                StatementLink.business_id == customer.business_id,
                StatementLink.idempotency_key == key,
            )
        ).one_or_none()

    def make() -> StatementLink:
        return _make(
            session,
            customer,
            user_id=user_id,
            date_from=date_from,
            date_to=date_to,
            days=days,
            purpose="shared",
            key=key,
            request_hash=request_hash,
        )

    return create_once(session, find, make, request_hash)


class NotYours(Exception):
    """A clerk may revoke only the links they made."""


REVOKE = text(
    """UPDATE statement_links SET revoked_at = now(), revoked_by = :user_id
        WHERE business_id = :business_id AND id = :link_id AND revoked_at IS NULL
    RETURNING expires_at"""
)


@unit_of_work
def revoke(
    session: Session,
    customer: Customer,
    link_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    is_owner: bool,
) -> bool:
    """Revoke one of the customer's links: it stops opening at once. Owners revoke any link, a
    clerk the ones they made (raises NotYours). False when it was revoked already. Raises
    LookupError for a link that is not this customer's (another shop's: row-level security
    hides it)."""
    link = session.scalars(
        select(StatementLink)
        .where(
            StatementLink.business_id == customer.business_id,
            StatementLink.id == link_id,
            StatementLink.customer_id == customer.id,
        )
        .with_for_update(key_share=True)  # the "before" is what was there (as other changes)
    ).one_or_none()
    if link is None:
        raise LookupError(link_id)
    if not is_owner and link.created_by != user_id:
        raise NotYours
    params = {"business_id": customer.business_id, "link_id": link_id, "user_id": user_id}
    if session.execute(REVOKE, params).first() is None:
        return False
    activity.record(
        session,
        kind="statement_link",
        summary=f"Statement link for {customer.name} revoked",
        user_id=user_id,
        customer_id=customer.id,
        before={"link_id": link_id, "revoked": False},
        after={"link_id": link_id, "revoked": True},
    )
    return True


REUSABLE = text(
    """SELECT id FROM statement_links
        WHERE customer_id = :customer_id AND purpose = 'reminder' AND revoked_at IS NULL
          AND date_to IS NULL AND expires_at > now() + make_interval(days => :days_left)
        ORDER BY expires_at DESC, id
        LIMIT 1"""
)


@dataclass(frozen=True)
class ReminderLink:
    link_id: uuid.UUID
    made: bool  # a new link (False: the customer's live one, reused)


def link_for_reminder(session: Session, customer: Customer, user_id: uuid.UUID) -> ReminderLink:
    """The link a reminder carries, in the reminder's transaction: the customer's reminder link
    while it has more than a week left, else a new one (30 days, the last 90 days' statement up
    to the day it is opened). A link shared by hand is never reused: it may have gone to
    someone else, and revoking it must not touch what reminders send."""
    found = session.execute(
        REUSABLE, {"customer_id": customer.id, "days_left": REUSE_WHILE_LEFT.days}
    ).scalar_one_or_none()
    if found is not None:
        return ReminderLink(found, made=False)
    today = reports.business_today(session)
    link = _make(
        session,
        customer,
        user_id=user_id,
        date_from=today - timedelta(days=REMINDER_PERIOD_DAYS),
        date_to=None,
        days=DEFAULT_DAYS,
        purpose="reminder",
    )
    return ReminderLink(link.id, made=True)
