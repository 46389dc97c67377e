"""Reading values that people type or tools send: ids and amounts of money."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

AMOUNT = re.compile(r"-?\d+(\.\d+)?")


def parse_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def parse_amount(value: Any) -> Decimal | None:
    """A plain amount such as 12.50 (text or a JSON number); the ledger judges its size and
    decimals, so that its messages are the ones people see."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    cleaned = str(value).strip().replace(" ", "")
    if not AMOUNT.fullmatch(cleaned) or len(cleaned) > 20:
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None
