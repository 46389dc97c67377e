"""Recording a reminder: composed on the server from the customer's figures now (never from
text a page sent), recorded with its channel and who chose it."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from webapp import reports
from webapp.db import unit_of_work
from webapp.models import Business, Customer, Reminder
from webapp.reminders.compose import Composed, compose


class NoNumber(Exception):
    """The customer's phone number cannot make a link for that channel."""


def compose_for(business: Business, customer: Customer, sales: list[reports.OpenSale]) -> Composed:
    """From the customer's open sales: what is overdue (or, when nothing is overdue yet, all
    they owe), and since when."""
    overdue = reports.overdue_amount(sales)
    late = [sale.due_on for sale in sales if sale.days_overdue]
    due_on = min(late) if late else min((sale.due_on for sale in sales), default=None)
    return compose(business, customer.name, customer.phone, overdue or customer.balance, due_on)


@unit_of_work
def record_reminder(
    session: Session, business: Business, customer: Customer, channel: str, user_id: uuid.UUID
) -> tuple[str, Composed]:
    """Record the reminder; return the link that opens it and the message."""
    message = compose_for(business, customer, reports.open_sales(session, customer.id))
    link = message.link(channel)
    if link is None:
        raise NoNumber
    session.add(
        Reminder(
            business_id=business.id,
            customer_id=customer.id,
            channel=channel,
            message=message.text,
            created_by=user_id,
        )
    )
    return link, message
