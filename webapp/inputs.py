"""Reading values that people type or tools send — ids, amounts, whole numbers, text fields —
with the one set of limits and messages the pages, the API and CSV imports share."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext

# ASCII digits only ("[0-9]", not "\d"): "١٢.٥٠" or "１２" is not read as 12.50 or 12 behind
# the shopkeeper's back; money_field says how to write it instead.
AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")  # each caller says how large it may be
DIGITS = re.compile(r"[0-9]+")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_MONEY = Decimal("9999999999.99")  # NUMERIC(12, 2)
# 12,50 written the European way: commas are read as thousands separators (1,250.00), so such a
# value would silently become 1250. Said instead of guessed.
DECIMAL_COMMA = re.compile(r"-?[0-9]+,[0-9]{1,2}")

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
    """A whole number from 0 up, typed as digits 0-9 (a JSON integer too); None for anything
    else. Callers check the range, each with its own message."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    cleaned = raw.strip()
    return int(cleaned) if WHOLE_NUMBER.fullmatch(cleaned) else None


def too_many_digits(raw: Any) -> bool:
    """Digits 0-9 only, but more than a whole number here ever has: say the maximum, not
    "a whole number"."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw > 0
    return isinstance(raw, str) and DIGITS.fullmatch(raw.strip()) is not None


# Text people type, made safe to show: what `limited` refuses and what it cleans.
#
# Embeddings, overrides and isolates reorder how the text around them is shown ("\u202e" makes
# a name read backwards, and can make an amount or a link in a reminder read as something
# else). Nobody types them into a name; they are refused, with the character named.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible characters no shop's text needs anywhere (zero width space, word joiner, byte-order
# mark): removed, so "Ann" and "An\u200bn" are one name.
ZERO_WIDTH = re.compile("[\u200b\u2060\ufeff]")
# Blank-looking letters (Hangul fillers, the blank Braille pattern): invisible at either end.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Accents stacked on one letter: Vietnamese, Hebrew or Devanagari use up to three or four;
# more is "Zalgo" text, which spills over the lines around it.
MAX_MARKS = 4


def _invisible(character: str) -> bool:
    """Shown as nothing: spaces, controls and format characters (zero width joiners, direction
    marks, soft hyphens), and blank-looking letters."""
    return character in BLANK_LETTERS or unicodedata.category(character)[0] in "ZC"


def clean_text(value: str) -> str:
    """NFC (one code point per accented letter, so equal names compare equal), without
    zero-width characters, and without anything invisible at either end."""
    value = ZERO_WIDTH.sub("", unicodedata.normalize("NFC", value))
    start, end = 0, len(value)
    while start < end and _invisible(value[start]):
        start += 1
    while end > start and _invisible(value[end - 1]):
        end -= 1
    return value[start:end]


def text_problem(value: str, what: str, *, multiline: bool = False) -> str | None:
    """What is wrong with cleaned text, in the shopkeeper's words; None when nothing is."""
    marks = 0
    for character in value:
        if character in BIDI_CONTROLS:
            return (
                f"{what} contains U+{ord(character):04X}, an invisible character that reverses "
                "how text is shown. Type it again without it."
            )
        category = unicodedata.category(character)
        if category == "Cc" and not (multiline and character in "\n\r\t"):
            where = "a control character" if multiline else "a line break or control character"
            return f"{what} contains {where}. Type it on one line, with letters and digits."
        marks = marks + 1 if category[0] == "M" else 0
        if marks > MAX_MARKS:
            return (
                f"{what} has more than {MAX_MARKS} accent marks on one letter. "
                "Type it with ordinary letters."
            )
    return None


def text_field(raw: Mapping[str, Any], key: str) -> str | None:
    """The field as text (None when it is not text at all: a number or list sent as JSON),
    trimmed; `limited` cleans and judges it."""
    value = raw.get(key)
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else None


def limited(
    value: str | None,
    key: str,
    what: str,
    limit: int,
    problems: Problems,
    *,
    multiline: bool = False,
) -> str:
    """`value` cleaned (`clean_text`) when it is text of at most `limit` characters that shows
    what it says (`text_problem`; one line unless `multiline`); else a message for `key`."""
    if value is None:
        problems[key] = gettext("%(what)s must be text.", what=what)
        return ""
    cleaned = clean_text(value)
    if value and not cleaned:
        problems[key] = gettext(
            "%(what)s has only invisible characters. Type it with letters or digits.", what=what
        )
        return ""
    problem = text_problem(cleaned, what, multiline=multiline)
    if problem:
        problems[key] = problem
    elif len(cleaned) > limit:
        problems[key] = gettext("%(what)s is at most %(limit)s characters.", what=what, limit=limit)
    return cleaned


def checked_text(value: str, what: str, limit: int, *, multiline: bool = False) -> str:
    """`limited` for one value outside a form's problems (staff names, token names): the
    cleaned text, or ValueError with the message."""
    problems: Problems = {}
    cleaned = limited(value, "value", what, limit, problems, multiline=multiline)
    if problems:
        raise ValueError(problems["value"])
    return cleaned


def money_field(value: Any, what: str, problems: Problems, key: str) -> Decimal:
    """An amount from 0 up with at most 2 decimals; blank means 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Decimal("0.00")
    if isinstance(value, str) and DECIMAL_COMMA.fullmatch(value.strip()):
        cents = value.strip().replace(",", ".")
        problems[key] = gettext(
            "Write %(lower)s with a point before the cents, such as "
            "%(cents)s (a comma there would be read as thousands).",
            lower=what.lower(),
            cents=cents,
        )
        return Decimal("0.00")
    amount = parse_amount(value.replace(",", "") if isinstance(value, str) else value)
    other_digits = isinstance(value, str) and any(c.isdigit() and not c.isascii() for c in value)
    if amount is None and other_digits:
        problems[key] = gettext(
            "Write %(lower)s with the digits 0 to 9, such as 12.50.", lower=what.lower()
        )
    elif amount is None:
        problems[key] = gettext("%(what)s must be an amount such as 12.50.", what=what)
    elif amount < 0:
        problems[key] = gettext("%(what)s cannot be negative.", what=what)
    elif amount != amount.quantize(Decimal("0.01")):
        problems[key] = gettext("%(what)s has at most 2 decimals.", what=what)
    elif amount > MAX_MONEY:
        problems[key] = gettext("%(what)s is too large.", what=what)
    else:
        return amount.quantize(Decimal("0.01"))
    return Decimal("0.00")
