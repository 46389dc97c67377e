"""A customer's reminder as it is sent: the shop's text filled in, and the links that open
WhatsApp or the phone's messages with it (never sent by themselves)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from webapp.formatting import local_date, money
from webapp.models import Business
from webapp.overdue.reminders import (
    LINK_NOT_YET_MADE,
    reminder_text,
    sms_link,
    today_word,
    whatsapp_link,
)

CHANNELS = {"whatsapp": "WhatsApp", "sms": "SMS"}


@dataclass(frozen=True)
class Composed:
    text: str
    whatsapp: str | None
    sms: str | None

    def link(self, channel: str) -> str | None:
        return self.whatsapp if channel == "whatsapp" else self.sms


def compose(
    business: Business,
    name: str,
    phone: str,
    amount: Decimal,
    due_on: date | None,
    statement_link: str = LINK_NOT_YET_MADE,
) -> Composed:
    message = reminder_text(
        business.name,
        name,
        money(amount),
        local_date(due_on) if due_on else today_word(),
        template=business.reminder_template,
        payment_instructions=business.payment_instructions,
        statement_link=statement_link,
    )
    return Composed(message, whatsapp_link(phone, message), sms_link(phone, message))


@dataclass(frozen=True)
class LastReminder:
    at: datetime
    channel: str
    by: str

    @property
    def channel_name(self) -> str:
        return CHANNELS.get(self.channel, self.channel)


LAST = text(
    """SELECT DISTINCT ON (r.customer_id) r.customer_id, r.created_at, r.channel, u.name
         FROM reminders r
         JOIN users u ON u.business_id = r.business_id AND u.id = r.created_by
        WHERE r.customer_id = ANY(:ids)
        ORDER BY r.customer_id, r.created_at DESC"""
)


def last_reminders(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, LastReminder]:
    """The latest reminder of each of these customers (one query for a page of them)."""
    if not ids:
        return {}
    return {
        row.customer_id: LastReminder(row.created_at, row.channel, row.name)
        for row in session.execute(LAST, {"ids": ids})
    }
