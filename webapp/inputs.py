"""Reading values that people type or tools send — ids, amounts, whole numbers, text fields —
with the one set of limits and messages the pages, the API and CSV imports share."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

AMOUNT = re.compile(r"-?\d+(\.\d+)?")
WHOLE_NUMBER = re.compile(r"\d{1,10}")  # digits only; each caller says how large it may be
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_MONEY = Decimal("9999999999.99")  # NUMERIC(12, 2)
# 12,50 written the European way: commas are read as thousands separators (1,250.00), so such a
# value would silently become 1250. Said instead of guessed.
DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")

Problems = dict[str, str]  # a message per field, in the shopkeeper's words


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


def whole_number(raw: Any) -> int | None:
    """A whole number from 0 up, typed as digits (a JSON integer too); None for anything else.
    Callers check the range, each with its own message."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    cleaned = raw.strip()
    return int(cleaned) if WHOLE_NUMBER.fullmatch(cleaned) else None


def text_field(raw: Mapping[str, Any], key: str) -> str | None:
    """The field as text (None when it is not text at all: a number or list sent as JSON)."""
    value = raw.get(key)
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else None


def limited(value: str | None, key: str, what: str, limit: int, problems: Problems) -> str:
    """`value` when it is text of at most `limit` characters; else a message for `key`."""
    if value is None:
        problems[key] = f"{what} must be text."
        return ""
    if len(value) > limit:
        problems[key] = f"{what} is at most {limit} characters."
    return value


def money_field(value: Any, what: str, problems: Problems, key: str) -> Decimal:
    """An amount from 0 up with at most 2 decimals; blank means 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Decimal("0.00")
    if isinstance(value, str) and DECIMAL_COMMA.fullmatch(value.strip()):
        cents = value.strip().replace(",", ".")
        problems[key] = (
            f"Write {what.lower()} with a point before the cents, such as {cents} "
            "(a comma there would be read as thousands)."
        )
        return Decimal("0.00")
    amount = parse_amount(value.replace(",", "") if isinstance(value, str) else value)
    if amount is None:
        problems[key] = f"{what} must be an amount such as 12.50."
    elif amount < 0:
        problems[key] = f"{what} cannot be negative."
    elif amount != amount.quantize(Decimal("0.01")):
        problems[key] = f"{what} has at most 2 decimals."
    elif amount > MAX_MONEY:
        problems[key] = f"{what} is too large."
    else:
        return amount.quantize(Decimal("0.01"))
    return Decimal("0.00")
