"""Counting the drawer: the count is recorded with what the app expected at that moment."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.cashup.queries import expected_cash
from webapp.idempotency import create_once, fingerprint
from webapp.models import DrawerCount


def record_count(
    session: Session,
    *,
    business_id: uuid.UUID,
    day: date,
    user_id: uuid.UUID,
    float_amount: Decimal,
    counted: Decimal,
    note: str,
    key: uuid.UUID,
) -> tuple[DrawerCount, bool]:
    """The signed-in person's count of their own drawer for `day`; one committed unit of work.
    Sent twice (a double click), recorded once."""

    def find() -> DrawerCount | None:
        return session.scalars(
            select(DrawerCount).where(DrawerCount.idempotency_key == key)
        ).one_or_none()

    def make() -> DrawerCount:
        count = DrawerCount(
            business_id=business_id,
            day=day,
            user_id=user_id,
            float_amount=float_amount,
            expected=expected_cash(session, day, user_id, float_amount),
            counted=counted,
            note=note,
            created_by=user_id,
            idempotency_key=key,
            request_hash=request,
        )
        session.add(count)
        session.flush()
        return count

    request = fingerprint(day=day, float=float_amount, counted=counted, note=note)
    return create_once(session, find, make, request)
