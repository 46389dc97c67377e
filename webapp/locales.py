"""The shop's locale (how money, numbers and dates are written) and each person's language (the
words of the interface): the lists offered, and which applies to this request.

The two are separate on purpose: a Swahili-speaking clerk in an en_KE shop reads Swahili words
with the shop's formats, so a receipt or a reminder is written the same way whoever prints it.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date

from babel import Locale
from babel.dates import format_date, parse_date
from flask import current_app, g, has_request_context, request
from flask_login import current_user

# The locales a shop may choose in Settings (Babel's names). Adding one is a line here: every
# format comes from Babel's CLDR data. Its language needs no translation (the interface falls
# back to English for a language without a catalogue).
LOCALES = (
    "en",
    "en_KE",
    "en_TZ",
    "en_UG",
    "en_IN",
    "en_GB",
    "en_US",
    "sw_KE",
    "sw_TZ",
    "fr_FR",
)
# The languages of the interface: English (the messages as written) and those with a catalogue
# in webapp/translations.
LANGUAGES = ("en", "sw")
DEFAULT_LANGUAGE = "en"
# The medium date pattern's example day: its day and month cannot be mistaken for each other.
EXAMPLE_DAY = date(2026, 3, 31)


def locale_label(code: str) -> str:
    """A locale as its own speakers write it, with an example of its money and date."""
    return Locale.parse(code).get_display_name(code) or code


def language_label(code: str) -> str:
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def language_of(locale: str) -> str:
    """The interface language a shop's locale suggests: sw_KE → sw; one without a catalogue,
    like fr_FR, → English."""
    language = locale.partition("_")[0]
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def shop_locale() -> str:
    """The signed-in person's shop's locale; with no one signed in (the sign-in page, a
    command), the deployment's default (SHOPCREDIT_LOCALE)."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return str(current_user.business.locale)
    return str(current_app.config["LOCALE"])


def interface_language() -> str:
    """Flask-Babel's locale selector: the person's own choice, else their shop's language; on
    the sign-in page (no one yet) the browser's preference between the languages we have."""
    if not has_request_context():
        return language_of(str(current_app.config["LOCALE"]))
    if request.blueprint == "api" or request.path.startswith("/api/"):
        return DEFAULT_LANGUAGE  # the API answers programs: its messages stay English
    if current_user and current_user.is_authenticated:
        return str(current_user.language or language_of(current_user.business.locale))
    return request.accept_languages.best_match(LANGUAGES) or language_of(
        str(current_app.config["LOCALE"])
    )


def loaded_language() -> str:
    """The interface language without reading the database (an error page when it failed): the
    signed-in person's if this request loaded them already, else the browser's."""
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded for this request
    with suppress(Exception):  # a user whose rows went with a failed transaction
        if user is not None and user.is_authenticated:
            return str(user.language or language_of(user.business.locale))
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def date_example() -> str:
    """A day written the shop's way, for hints and errors next to date fields."""
    return format_date(EXAMPLE_DAY, "medium", locale=shop_locale())


def parse_local_date(text: str) -> date | None:
    """A date as a picker sends it (ISO, 2026-03-31) or as the shop writes it (31 Mar 2026,
    31/03/2026 …); None when it is neither."""
    text = text.strip()
    if not text or len(text) > 40:  # no date is longer; a longer text is not one
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    locale = Locale.parse(shop_locale())
    # Month names (wide and abbreviated, any case, with or without a dot) become numbers, so
    # Babel's numeric parser reads the rest in the order of the locale's own pattern.
    numeric = text.lower()
    names = [
        (str(name).lower().rstrip("."), number)
        for width in ("wide", "abbreviated")
        for number, name in locale.months["format"][width].items()
    ]
    for name, number in sorted(names, key=lambda item: -len(item[0])):
        if name and name in numeric:
            numeric = numeric.replace(name + ".", str(number)).replace(name, str(number))
            break
    for pattern in ("medium", "short"):
        try:
            parsed = parse_date(numeric, locale, pattern)
        except (ValueError, IndexError, OverflowError):  # not a date, or numbers beyond one
            continue
        if 1900 <= parsed.year <= 9999:
            return parsed
    return None
