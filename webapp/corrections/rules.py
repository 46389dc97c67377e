"""Who may put a sale right, as the ledger's record_return decides it: shown as buttons only."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_login import current_user

from webapp.models import Order


def may_correct(order: Order) -> bool:
    """Whether the signed-in user may return or void this sale (the ledger's rule, to show or
    hide the buttons; the ledger checks it again): owners always, a clerk their own sale on the
    day it was made, within the shop's minutes."""
    if current_user.is_owner:
        return True
    business = current_user.business
    zone = ZoneInfo(business.timezone)
    now = datetime.now(zone)
    return (
        order.created_by == current_user.id
        and order.created_at.astimezone(zone).date() == now.date()
        and now - order.created_at <= timedelta(minutes=business.clerk_correction_minutes)
    )
