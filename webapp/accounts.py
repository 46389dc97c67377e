"""Creating businesses and their staff, with the rules both the CLI and the pages follow."""

from __future__ import annotations

import re
import uuid
from zoneinfo import available_timezones

from babel.numbers import list_currencies
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from webapp.models import Business, User
from webapp.passwords import hash_password, password_problem

SLUG_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ROLES = ("owner", "clerk")


class AccountError(ValueError):
    """A business or user cannot be created as asked; the message says why, plainly.

    `field` names the input at fault (email, name, role, password, currency, timezone,
    credit_days, slug), so a form can show the message next to it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


TIMEZONE_KNOWN = text("SELECT EXISTS (SELECT FROM pg_timezone_names WHERE name = :name)")


def business_settings_problems(
    session: Session, currency: str, timezone: str, credit_days: int
) -> dict[str, str]:
    """What is wrong with a business's money and time settings, by field (empty: nothing)."""
    problems = {}
    if currency not in list_currencies():
        problems["currency"] = f"{currency!r} is not a currency code (use three letters, like USD)."
    # Both Python (to show dates) and PostgreSQL (to date sales) must know the zone.
    if timezone not in available_timezones() or not session.scalar(
        TIMEZONE_KNOWN, {"name": timezone}
    ):
        problems["timezone"] = f"{timezone!r} is not a time zone (use a name like Africa/Nairobi)."
    if not 0 <= credit_days <= 365:
        problems["credit_days"] = "Credit days must be between 0 and 365."
    return problems


def check_business_settings(
    session: Session, currency: str, timezone: str, credit_days: int
) -> None:
    """Raise the first problem of `business_settings_problems`, naming its field."""
    for field, message in business_settings_problems(
        session, currency, timezone, credit_days
    ).items():
        raise AccountError(message, field)


def create_business(
    session: Session,
    *,
    slug: str,
    name: str,
    currency: str = "USD",
    timezone: str = "UTC",
    credit_days: int = 30,
) -> Business:
    slug, name, currency = slug.strip().lower(), name.strip(), currency.strip().upper()
    if not SLUG_PATTERN.match(slug):
        raise AccountError(
            "A shop code is 1 to 40 lowercase letters, digits and dashes, "
            "not starting or ending with a dash.",
            "slug",
        )
    if not 1 <= len(name) <= 120:
        raise AccountError("A business name is 1 to 120 characters.", "name")
    check_business_settings(session, currency, timezone, credit_days)
    if session.scalar(select(Business.id).where(Business.slug == slug)) is not None:
        raise AccountError(f"The shop code {slug!r} is taken.", "slug")
    business = Business(
        id=uuid.uuid4(),
        slug=slug,
        name=name,
        currency=currency,
        timezone=timezone,
        credit_days=credit_days,
    )
    session.add(business)
    session.flush()
    return business


def create_user(
    session: Session,
    *,
    business_id: uuid.UUID,
    email: str,
    name: str,
    role: str,
    password: str,
    user_id: uuid.UUID | None = None,
) -> User:
    """`user_id`, when given, becomes the new user's id: a form passes its idempotency key, so
    the same form sent twice makes one user (the second insert hits the primary key)."""
    email, name = email.strip(), name.strip()
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise AccountError(f"{email!r} is not an email address.", "email")
    if not 1 <= len(name) <= 120:
        raise AccountError("A name is 1 to 120 characters.", "name")
    if role not in ROLES:
        raise AccountError("The role is owner or clerk.", "role")
    problem = password_problem(password)
    if problem:
        raise AccountError(f"That password will not do: {problem}", "password")
    taken = session.scalar(
        select(User.id).where(
            User.business_id == business_id, func.lower(User.email) == email.lower()
        )
    )
    if taken is not None:
        raise AccountError(f"{email} already has an account in this business.", "email")
    user = User(
        business_id=business_id,
        id=user_id or uuid.uuid4(),
        email=email,
        name=name,
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def business_by_slug(session: Session, slug: str) -> Business:
    business = session.scalar(select(Business).where(Business.slug == slug.strip().lower()))
    if business is None:
        raise AccountError(f"There is no business with the shop code {slug!r}.")
    return business
