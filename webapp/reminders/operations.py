"""Recording a reminder: composed on the server from the customer's figures now (never from
text a page sent), recorded with its channel and who chose it."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from webapp import reports
from webapp.db import unit_of_work
from webapp.models import Business, Customer, Reminder
from webapp.overdue.reminders import LINK_NOT_YET_MADE, wants_statement_link
from webapp.reminders.compose import Composed, compose
from webapp.share import links
from webapp.share.operations import link_for_reminder


class NoNumber(Exception):
    """The customer's phone number cannot make a link for that channel."""


def compose_for(
    business: Business,
    customer: Customer,
    sales: list[reports.OpenSale],
    statement_link: str = LINK_NOT_YET_MADE,
) -> Composed:
    """From the customer's open sales: what is overdue (or, when nothing is overdue yet, all
    they owe), and since when."""
    overdue = reports.overdue_amount(sales)
    late = [sale.due_on for sale in sales if sale.days_overdue]
    due_on = min(late) if late else min((sale.due_on for sale in sales), default=None)
    amount = overdue or customer.balance
    return compose(business, customer.name, customer.phone, amount, due_on, statement_link)


@unit_of_work
def record_reminder(
    session: Session, business: Business, customer: Customer, channel: str, user_id: uuid.UUID
) -> tuple[str, Composed]:
    """Record the reminder; return the link that opens it and the message. A shop whose text
    has {statement_link} sends the customer's live reminder link, or a new one (webapp.share);
    the record keeps the text with the link's place marked, never the link itself."""
    sales = reports.open_sales(session, customer.id)
    message = compose_for(business, customer, sales)
    if message.link(channel) is None:
        raise NoNumber
    recorded = message.text
    if wants_statement_link(business.reminder_template):
        chosen = link_for_reminder(session, customer, user_id)
        message = compose_for(business, customer, sales, links.address(chosen.link_id))
    link = message.link(channel)
    assert link is not None  # the same phone number as above
    session.add(
        Reminder(
            business_id=business.id,
            customer_id=customer.id,
            channel=channel,
            message=recorded,
            created_by=user_id,
        )
    )
    return link, message
