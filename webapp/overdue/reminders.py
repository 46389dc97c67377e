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

from flask import has_app_context
from flask_babel import force_locale, gettext, lazy_gettext

from webapp.inputs import BIDI_CONTROLS, clean_text
from webapp.locales import language_of, shop_locale

SPACES = re.compile(r"\s+")
# Within a reminder's line: any run of spaces but the no-break ones a locale writes in amounts
# and dates ("1 234,50 KES"), which keep the figure on one line of the customer's phone.
BREAKING_SPACES = re.compile(r"[^\S\xa0\u202f]+")


def shown_as_typed(text: str) -> str:
    """Text on one line, without direction controls or other control characters."""
    kept = "".join(
        " " if character in BIDI_CONTROLS or unicodedata.category(character) == "Cc" else character
        for character in clean_text(text)
    )
    return SPACES.sub(" ", kept).strip()


# The shop's own reminder text (Settings) may use these, each in braces: {name}.
PLACEHOLDERS = {
    "name": lazy_gettext("the customer's name"),
    "amount": lazy_gettext("what is overdue (or owed, when nothing is overdue yet)"),
    "due_date": lazy_gettext("the oldest due date"),
    "shop": lazy_gettext("the shop's name"),
    "payment_instructions": lazy_gettext("how to pay (Settings)"),
    "statement_link": lazy_gettext(
        "a link to their statement, which they open without signing in (made when the reminder "
        "is sent, or the one sent before while it has more than a week left)"
    ),
}
# What a reminder shows where its statement link will go, before it is sent (the link is made
# or chosen only then) — and what the record of a sent reminder keeps instead of the link, so
# no link's secret is ever stored.
LINK_NOT_YET_MADE = "[link to their statement]"
DEFAULT_TEMPLATE = (
    "Hello {name}, this is {shop}. A friendly reminder that {amount} on your account has been "
    "due since {due_date}. {payment_instructions} Thank you!"
)


def default_template() -> str:
    """The built-in reminder in the language of the shop's locale, not the sender's: the
    customer reads it, whoever on the staff sends it."""
    if not has_app_context():
        return DEFAULT_TEMPLATE
    with force_locale(language_of(shop_locale())):
        return gettext(
            "Hello {name}, this is {shop}. A friendly reminder that {amount} on your account has "
            "been due since {due_date}. {payment_instructions} Thank you!"
        )


def today_word() -> str:
    """What stands for the due date when nothing is overdue yet, in the shop's language."""
    if not has_app_context():
        return "today"
    with force_locale(language_of(shop_locale())):
        return gettext("today")


FIELD = re.compile(r"\{([^{}]*)\}")


def template_problem(template: str) -> str | None:
    """What is wrong with a shop's reminder text, in its words; None when it can be used."""
    unknown = [name for name in FIELD.findall(template) if name not in PLACEHOLDERS]
    if unknown:
        return gettext(
            "%(field)s is not something a reminder can fill in; use %(fields)s.",
            field=f"{{{unknown[0]}}}",
            fields=", ".join(f"{{{name}}}" for name in PLACEHOLDERS),
        )
    if template.count("{") != template.count("}") or "{}" in template:
        return gettext("Every { needs its } around one of the names below.")
    return None


def reminder_text(
    business: str,
    customer: str,
    amount: str,
    since: str,
    *,
    template: str = "",
    payment_instructions: str = "",
    statement_link: str = LINK_NOT_YET_MADE,
) -> str:
    """The message, from the shop's text (or the built-in one), each placeholder filled in with
    one line of visible text."""
    values = {
        "name": shown_as_typed(customer),
        "amount": amount,
        "due_date": since,
        "shop": shown_as_typed(business),
        "payment_instructions": shown_as_typed(payment_instructions),
        "statement_link": shown_as_typed(statement_link),
    }
    text = FIELD.sub(
        lambda found: values.get(found.group(1), found.group(0)), template or default_template()
    )
    # The shop's line breaks stay; within a line, one space between words.
    lines = (BREAKING_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def wants_statement_link(template: str) -> bool:
    """The shop's reminder text (empty: the built-in one, which has none) carries a link."""
    return "{statement_link}" in (template or DEFAULT_TEMPLATE)


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
