"""Prefilled reminder messages a shopkeeper sends from their own phone (WhatsApp or SMS).

The customer's name in a reminder was typed by whoever added the customer, a clerk perhaps,
and the owner sends it in the shop's name. So the message must be what it looks like: the
name goes in as one line of visible text (no line breaks, nothing that reverses the text's
direction or hides in it: `shown_as_typed`; names saved today cannot hold those, names saved
before the rules may), and the overdue list shows the whole message on each link (its title)
before the owner opens WhatsApp or SMS, where it is prefilled, never sent by itself.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from webapp.inputs import BIDI_CONTROLS, clean_text

SPACES = re.compile(r"\s+")


def shown_as_typed(text: str) -> str:
    """Text on one line, without direction controls or other control characters."""
    kept = "".join(
        " " if character in BIDI_CONTROLS or unicodedata.category(character) == "Cc" else character
        for character in clean_text(text)
    )
    return SPACES.sub(" ", kept).strip()


def reminder_text(business: str, customer: str, amount: str, since: str) -> str:
    return (
        f"Hello {shown_as_typed(customer)}, this is {shown_as_typed(business)}. A friendly "
        f"reminder that {amount} on your account has been due since {since}. Thank you!"
    )


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def whatsapp_link(phone: str, text: str) -> str | None:
    """wa.me wants the full international number, digits only."""
    digits = _digits(phone)
    return f"https://wa.me/{digits}?text={quote(text)}" if len(digits) >= 7 else None


def sms_link(phone: str, text: str) -> str | None:
    digits = _digits(phone)
    if len(digits) < 3:
        return None
    number = ("+" if phone.strip().startswith("+") else "") + digits
    return f"sms:{number}?body={quote(text)}"
