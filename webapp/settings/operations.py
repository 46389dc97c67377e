"""A business and its settings, and its API tokens: the rules the pages and the admin commands
share, and every change of them. `update_settings`, `make_token` and `revoke_token` are each one
committed unit of work; `create_business` and `issue_token` write in the caller's transaction
(an admin command's)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import available_timezones

from babel.numbers import list_currencies
from flask_babel import force_locale, gettext, lazy_gettext
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from webapp.activity import log as activity
from webapp.api.tokens import PREFIX, hash_token
from webapp.db import unit_of_work
from webapp.idempotency import create_once, fingerprint
from webapp.inputs import Problems, checked_text, limited, money_field, text_field, whole_number
from webapp.locales import LOCALES, locale_label
from webapp.models import ApiToken, Business
from webapp.overdue.reminders import template_problem
from webapp.refusal import Refused

SLUG_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
MAX_CREDIT_DAYS = 365
MAX_LOW_STOCK = 100_000
MAX_API_REQUESTS_PER_MINUTE = 100_000
MAX_CLERK_CORRECTION_MINUTES = 1440  # a day: 0 means only owners correct sales
# The paper a shop's receipts print on (businesses.receipt_paper): A4 sheets or a thermal roll.
RECEIPT_PAPERS = {
    "a4": lazy_gettext("A4 sheets"),
    "80mm": lazy_gettext("80 mm receipt roll"),
    "58mm": lazy_gettext("58 mm receipt roll"),
}

TIMEZONE_KNOWN = text("SELECT EXISTS (SELECT FROM pg_timezone_names WHERE name = :name)")


def business_settings_problems(
    session: Session, currency: str, timezone: str, credit_days: int
) -> dict[str, str]:
    """What is wrong with a business's money and time settings, by field (empty: nothing)."""
    problems = {}
    if currency not in list_currencies():
        problems["currency"] = gettext(
            "%(currency)s is not a currency code (use three letters, like USD).",
            currency=repr(currency),
        )
    # Both Python (to show dates) and PostgreSQL (to date sales) must know the zone.
    if timezone not in available_timezones() or not session.scalar(
        TIMEZONE_KNOWN, {"name": timezone}
    ):
        problems["timezone"] = gettext(
            "%(timezone)s is not a time zone (use a name like Africa/Nairobi).",
            timezone=repr(timezone),
        )
    if not 0 <= credit_days <= MAX_CREDIT_DAYS:
        problems["credit_days"] = gettext(
            "Credit days must be between 0 and %(max_credit_days)s.",
            max_credit_days=MAX_CREDIT_DAYS,
        )
    return problems


def create_business(
    session: Session,
    *,
    slug: str,
    name: str,
    currency: str = "USD",
    timezone: str = "UTC",
    credit_days: int = 30,
    locale: str = "en",
) -> Business:
    slug, name, currency = slug.strip().lower(), name.strip(), currency.strip().upper()
    if locale not in LOCALES:
        raise Refused(
            gettext(
                "%(locale)s is not a locale ShopCredit offers: %(locales)s.",
                locale=repr(locale),
                locales=", ".join(LOCALES),
            ),
            "locale",
        )
    if not SLUG_PATTERN.match(slug):
        raise Refused(
            gettext(
                "A shop code is 1 to 40 lowercase letters, digits and "
                "dashes, not starting or ending with a dash."
            ),
            "slug",
        )
    try:
        name = checked_text(name, gettext("The business name"), 120)
    except ValueError as problem:
        raise Refused(str(problem), "name") from None
    if not 1 <= len(name) <= 120:
        raise Refused(gettext("A business name is 1 to 120 characters."), "name")
    for field, message in business_settings_problems(
        session, currency, timezone, credit_days
    ).items():
        raise Refused(message, field)
    if session.scalar(select(Business.id).where(Business.slug == slug)) is not None:
        raise Refused(gettext("The shop code %(slug)s is taken.", slug=repr(slug)), "slug")
    business = Business(
        id=uuid.uuid4(),
        slug=slug,
        name=name,
        currency=currency,
        timezone=timezone,
        credit_days=credit_days,
        locale=locale,
    )
    session.add(business)
    session.flush()
    return business


def business_by_slug(session: Session, slug: str) -> Business:
    business = session.scalar(select(Business).where(Business.slug == slug.strip().lower()))
    if business is None:
        raise Refused(gettext("There is no business with the shop code %(slug)s.", slug=repr(slug)))
    return business


@dataclass(frozen=True)
class Settings:
    """A business's settings as an owner entered them, checked by `read_settings`."""

    name: str
    address: str
    phone: str
    currency: str
    timezone: str
    credit_days: int
    low_stock_threshold: int
    default_credit_limit: Decimal
    receipt_paper: str
    api_requests_per_minute: int
    owners_need_two_factor: bool = False
    clerk_correction_minutes: int = 30
    payment_instructions: str = ""
    reminder_template: str = ""
    locale: str = "en"


def read_settings(
    session: Session, raw: Mapping[str, Any], *, current_locale: str = "en"
) -> tuple[Settings | None, Problems]:
    """The settings form's values, checked, with a message per field. A form sent without the
    locale (one shown before the setting existed) keeps `current_locale`."""
    problems: Problems = {}
    credit_days = whole_number(raw.get("credit_days"))
    if credit_days is None:
        problems["credit_days"] = gettext(
            "Enter a whole number of days from 0 to %(max_credit_days)s.",
            max_credit_days=MAX_CREDIT_DAYS,
        )
    low_stock = whole_number(raw.get("low_stock_threshold"))
    if low_stock is None or low_stock > MAX_LOW_STOCK:
        problems["low_stock_threshold"] = gettext(
            "Enter a whole number of items from 0 to %(max_low_stock)s.",
            max_low_stock=MAX_LOW_STOCK,
        )
    default_limit = money_field(
        raw.get("default_credit_limit"),
        gettext("The credit limit for new customers"),
        problems,
        "default_credit_limit",
    )
    api_rate = whole_number(raw.get("api_requests_per_minute"))
    if api_rate is None or not 1 <= api_rate <= MAX_API_REQUESTS_PER_MINUTE:
        problems["api_requests_per_minute"] = gettext(
            "Enter a whole number of requests from 1 to %(max_api_requests_per_minute)s.",
            max_api_requests_per_minute=MAX_API_REQUESTS_PER_MINUTE,
        )
    correction_minutes = whole_number(raw.get("clerk_correction_minutes"))
    if correction_minutes is None or correction_minutes > MAX_CLERK_CORRECTION_MINUTES:
        problems["clerk_correction_minutes"] = gettext(
            "Enter a whole number of minutes from 0 to %(max_clerk_correction_minutes)s.",
            max_clerk_correction_minutes=MAX_CLERK_CORRECTION_MINUTES,
        )
    paper = text_field(raw, "receipt_paper") or ""
    if paper not in RECEIPT_PAPERS:
        problems["receipt_paper"] = gettext("Choose the paper of your receipt printer.")
    locale = (text_field(raw, "locale") or "") if "locale" in raw else current_locale
    if locale not in LOCALES:
        problems["locale"] = gettext("Choose how money and dates are written.")
    currency = (text_field(raw, "currency") or "").upper()
    timezone = text_field(raw, "timezone") or ""
    name = limited(text_field(raw, "name"), "name", gettext("The business name"), 120, problems)
    if not name and "name" not in problems:
        problems["name"] = gettext("Enter the business name.")
    address = limited(
        text_field(raw, "address"), "address", gettext("The address"), 300, problems, multiline=True
    )
    phone = limited(text_field(raw, "phone"), "phone", gettext("The phone number"), 40, problems)
    instructions = limited(
        text_field(raw, "payment_instructions"),
        "payment_instructions",
        gettext("How to pay"),
        300,
        problems,
    )
    template = limited(
        text_field(raw, "reminder_template"),
        "reminder_template",
        gettext("The reminder text"),
        1000,
        problems,
        multiline=True,
    )
    if "reminder_template" not in problems and (problem := template_problem(template)):
        problems["reminder_template"] = problem
    for field, message in business_settings_problems(
        session, currency, timezone, 30 if credit_days is None else credit_days
    ).items():
        problems.setdefault(field, message)
    if (
        problems
        or credit_days is None
        or low_stock is None
        or api_rate is None
        or correction_minutes is None
    ):
        return None, problems
    settings = Settings(
        name=name,
        address=address,
        phone=phone,
        currency=currency,
        timezone=timezone,
        credit_days=credit_days,
        low_stock_threshold=low_stock,
        default_credit_limit=default_limit,
        receipt_paper=paper,
        api_requests_per_minute=api_rate,
        clerk_correction_minutes=correction_minutes,
        payment_instructions=instructions,
        reminder_template=template,
        locale=locale,
        # A checkbox: sent ("y") when ticked, missing when not.
        owners_need_two_factor=(text_field(raw, "owners_need_two_factor") or "").lower()
        not in ("", "false"),
    )
    return settings, problems


# Each setting in the words of the settings page, for the activity log.
SETTING_LABELS = {
    "name": lazy_gettext("Business name"),
    "address": "Address",
    "phone": "Phone",
    "currency": "Currency",
    "timezone": "Timezone",
    "locale": lazy_gettext("Money and dates written as"),
    "credit_days": lazy_gettext("Credit days"),
    "low_stock_threshold": "Low-stock threshold",
    "default_credit_limit": lazy_gettext("Credit limit for new customers"),
    "receipt_paper": lazy_gettext("Receipt paper"),
    "api_requests_per_minute": "API requests per token per minute",
    "owners_need_two_factor": lazy_gettext("Owners must use a second factor"),
    "clerk_correction_minutes": lazy_gettext(
        "Minutes a clerk has to return or void their own sale"
    ),
    "payment_instructions": lazy_gettext("How to pay (in reminders)"),
    "reminder_template": lazy_gettext("Reminder text"),
}
SHOWN_MAX = 150  # of each side of a setting's before → after in the log's summary


def _shown(field: str, value: object) -> str:
    """A setting's value as the log's summary writes it (the whole value is in before/after)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Decimal):
        return activity.amount(value)
    if field == "locale":
        return f"{locale_label(str(value))} ({value})"
    if field == "receipt_paper":
        return str(RECEIPT_PAPERS.get(str(value), str(value)))
    shown = ", ".join(line.strip() for line in str(value).splitlines() if line.strip())
    return activity.shorten(shown, SHOWN_MAX) if shown else "(none)"


@unit_of_work
def update_settings(
    session: Session, business: Business, settings: Settings, *, actor_id: uuid.UUID
) -> None:
    """Save the settings; new credit days apply to sales from now on (due dates already set
    stay), a new default credit limit to customers added from now on (limits set stay); owners
    without a second factor, when it becomes a must, set one up at their next page.

    Each setting that changed goes in the activity log as its own line, from its value under
    the business's lock (another owner may have saved meanwhile)."""
    session.refresh(business, with_for_update={"key_share": True})  # FOR NO KEY UPDATE
    for field in SETTING_LABELS:
        before, after = getattr(business, field), getattr(settings, field)
        if before == after:
            continue
        setattr(business, field, after)
        # The log is kept in English, whoever reads it later (README, Languages and formats).
        with force_locale("en"):
            summary = f"{SETTING_LABELS[field]}: {_shown(field, before)} → {_shown(field, after)}"
        activity.record(
            session,
            kind="settings",
            summary=summary,
            user_id=actor_id,
            before={field: before},
            after={field: after},
            business_id=business.id,
        )


def issue_token(
    session: Session,
    *,
    business_id: uuid.UUID,
    name: str,
    created_by: uuid.UUID,
    key: uuid.UUID | None = None,
    request_hash: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
) -> tuple[ApiToken, str]:
    """A new token for the business, in the caller's transaction; returned with the plain token
    (shown once: only its hash is stored, and neither goes in the activity log). `key` and
    `request_hash`: see make_token. Logged as made by `actor_id`, or by an admin command when
    None."""
    try:
        name = checked_text(name.strip(), gettext("The token name"), 80)
    except ValueError as problem:
        raise Refused(str(problem), "name") from None
    if not name:
        raise Refused(gettext("A token name is 1 to 80 characters."), "name")
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        business_id=business_id,
        id=uuid.uuid4(),
        idempotency_key=key,
        request_hash=request_hash,
        name=name,
        token_hash=hash_token(plain),
        created_by=created_by,
    )
    session.add(token)
    session.flush()
    activity.record(
        session,
        kind="api_token",
        summary=f"API token '{name}' made" + ("" if actor_id else f", by {activity.ADMIN_COMMAND}"),
        user_id=actor_id,
        after={"token_id": token.id, "name": name, "created_by": created_by},
        business_id=business_id,
    )
    return token, plain


def find_token(session: Session, business_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken | None:
    return session.scalars(
        select(ApiToken).where(ApiToken.business_id == business_id, ApiToken.id == token_id)
    ).one_or_none()


def token_with_key(session: Session, business_id: uuid.UUID, key: uuid.UUID) -> ApiToken | None:
    return session.scalars(
        select(ApiToken).where(ApiToken.business_id == business_id, ApiToken.idempotency_key == key)
    ).one_or_none()


def make_token(
    session: Session, *, business_id: uuid.UUID, name: str, created_by: uuid.UUID, key: uuid.UUID
) -> tuple[ApiToken, str | None]:
    """`issue_token` as one committed unit, made once for the form's key. The plain token is
    None when this key made the token already (its value cannot be shown again), also when the
    same form was sent twice at once and the other request made it; the key with another name
    raises KeyReused."""
    plain: list[str] = []
    request = fingerprint(name=name.strip())

    def make() -> ApiToken:
        token, value = issue_token(
            session,
            business_id=business_id,
            name=name,
            created_by=created_by,
            key=key,
            request_hash=request,
            actor_id=created_by,
        )
        plain.append(value)
        return token

    token, created = create_once(
        session, lambda: token_with_key(session, business_id, key), make, request
    )
    return token, plain[0] if created else None


REVOKE = text(
    """UPDATE api_tokens
          SET revoked_at = now(), revoked_reason = 'revoked', revoked_by = :revoked_by
        WHERE business_id = :business_id AND id = :token_id AND revoked_at IS NULL
    RETURNING name"""
)


@unit_of_work
def revoke_token(
    session: Session, business_id: uuid.UUID, token_id: uuid.UUID, revoked_by: uuid.UUID
) -> str | None:
    """`revoked_by` revokes the token; it stops working at once, for good. Its name, or None
    when it was revoked already. Raises Refused for an unknown token (another business's,
    which RLS hides)."""
    params = {"business_id": business_id, "token_id": token_id, "revoked_by": revoked_by}
    name: str | None = session.execute(REVOKE, params).scalar_one_or_none()
    if name is None and find_token(session, business_id, token_id) is None:
        raise Refused(gettext("There is no such token."))
    if name is not None:
        activity.record(
            session,
            kind="api_token",
            summary=f"API token '{name}' revoked",
            user_id=revoked_by,
            before={"token_id": token_id, "revoked": False},
            after={"token_id": token_id, "revoked": True},
            business_id=business_id,
        )
    return name
