"""Money in the business's currency, dates and times in its timezone, all written the way of
the shop's locale (Babel; webapp/locales.py): one way on every page, printout and reminder."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, get_currency_precision
from flask import Flask, g, has_app_context
from flask_babel import lazy_gettext
from flask_login import current_user

from webapp.ledger import method_label
from webapp.locales import date_example, shop_locale

_locale = shop_locale


# A page shown for one business with no one of it signed in (a shared statement) names the
# business here; it comes first, so a shop's staff opening another shop's link in their own
# browser see it in that shop's currency and timezone, and their session is never loaded.
SHOWN_BUSINESS = "shown_business"


def show_business(business: object) -> None:
    """Money and dates on this request's pages in `business`'s currency and timezone."""
    setattr(g, SHOWN_BUSINESS, business)


def _business_setting(name: str, default: str) -> str:
    shown = g.get(SHOWN_BUSINESS) if has_app_context() else None
    if shown is not None:
        return str(getattr(shown, name))
    if current_user and current_user.is_authenticated:
        return str(getattr(current_user.business, name))
    return default


def money(amount: Decimal | int | None, currency: str | None = None) -> str:
    if amount is None:
        return ""
    currency = currency or _business_setting("currency", "USD")
    return _format_money(str(Decimal(amount)), currency, _locale())


@lru_cache(maxsize=4096)
def _format_money(amount: str, currency: str, locale: str) -> str:
    """Babel's formatting is most of what a page of many prices costs (the sale form lists the
    whole catalog); its result depends on these three alone, and shops repeat their prices."""
    return format_currency(Decimal(amount), currency, locale=locale)


def money_format(currency: str | None = None) -> dict[str, str | int]:
    """How `money` writes amounts in this shop, for a page's script to write them the same way:
    what comes before and after the number, the grouping and decimal marks, and the decimals.
    Read off Babel's own output for 1234, so the two can never disagree."""
    currency = currency or _business_setting("currency", "USD")
    digits = get_currency_precision(currency)
    sample = money(Decimal(1234), currency)
    one, two, four = sample.index("1"), sample.index("2"), sample.index("4")
    rest = sample[four + 1 :]
    return {
        "prefix": sample[:one],
        "group": sample[one + 1 : two],
        "decimal": rest[0] if digits else "",
        "digits": digits,
        "suffix": rest[1 + digits :] if digits else rest,
    }


def local_datetime(moment: datetime | None) -> str:
    if moment is None:
        return ""
    zone = ZoneInfo(_business_setting("timezone", "UTC"))
    return format_datetime(moment.astimezone(zone), "medium", locale=_locale())


def local_date(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day.astimezone(ZoneInfo(_business_setting("timezone", "UTC"))).date()
    return format_date(day, "medium", locale=_locale())


ROLE_LABELS = {"owner": lazy_gettext("owner"), "clerk": lazy_gettext("clerk")}


def role_label(role: str) -> str:
    """A staff role in the reader's language."""
    return str(ROLE_LABELS.get(role, role))


def number(value: int | Decimal) -> str:
    """A count the shop's way: 2,519 (en), 2 519 (fr)."""
    return format_decimal(value, locale=_locale())


def init_app(app: Flask) -> None:
    app.add_template_filter(method_label)
    app.add_template_filter(money)
    app.add_template_filter(local_datetime)
    app.add_template_filter(local_date)
    app.add_template_filter(number)
    app.add_template_filter(role_label)
    app.add_template_global(date_example)
