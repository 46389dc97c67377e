"""Prefilled reminder messages a shopkeeper sends from their own phone (WhatsApp or SMS)."""

from __future__ import annotations

import re
from urllib.parse import quote


def reminder_text(business: str, customer: str, amount: str, since: str) -> str:
    return (
        f"Hello {customer}, this is {business}. A friendly reminder that {amount} on your "
        f"account has been due since {since}. Thank you!"
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
