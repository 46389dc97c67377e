"""Settings: the business's details, money, time and credit rules, and its API tokens.

Owners only. A new API token's value is shown once, in the answer to the POST that made it
(never in a URL, a cookie or the session: Flask's session is a signed, not encrypted, cookie).
That answer is not cached (`no-store`, as every page); sent again (a reload, a double click),
the same idempotency key finds the token already made and says its value cannot be shown again.
"""

from __future__ import annotations

import re
import uuid
from functools import cache
from zoneinfo import available_timezones

from babel.numbers import list_currencies
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from webapp.accounts import business_settings_problems
from webapp.api.tokens import issue_token
from webapp.auth.access import owner_required
from webapp.db import db_session
from webapp.inputs import parse_uuid
from webapp.listing import page_of, requested_page
from webapp.models import ApiToken, Business
from webapp.settings import bp
from webapp.settings.forms import SettingsForm, TokenForm

WHOLE_NUMBER = re.compile(r"\d{1,6}")
LOW_STOCK_MAX = 100000
STALE_FORM = "This form was out of date; check it and send it again."


@cache
def currency_codes() -> list[str]:
    return sorted(list_currencies())


@cache
def timezone_names() -> list[str]:
    return sorted(available_timezones())


def _business(session: Session) -> Business:
    business = session.get(Business, current_user.business_id)
    if business is None:  # row-level security bound to another business: cannot happen
        abort(404)
    return business


def _whole_number(raw: str | None) -> int | None:
    cleaned = (raw or "").strip()
    return int(cleaned) if WHOLE_NUMBER.fullmatch(cleaned) else None


@bp.route("", methods=["GET", "POST"])
@owner_required
def index() -> str | Response | tuple[str, int]:
    session = db_session()
    business = _business(session)
    form = SettingsForm()
    if not form.is_submitted():
        form = SettingsForm(formdata=None, obj=business)
        form.credit_days.data = str(business.credit_days)
        form.low_stock_threshold.data = str(business.low_stock_threshold)
        return _settings_page(form)
    if not form.validate():
        return _settings_page(form, status=400)

    name = (form.name.data or "").strip()
    currency = (form.currency.data or "").strip().upper()
    timezone = (form.timezone.data or "").strip()
    credit_days = _whole_number(form.credit_days.data)
    low_stock = _whole_number(form.low_stock_threshold.data)
    if credit_days is None:
        form.credit_days.errors.append("Enter a whole number of days from 0 to 365.")
    if low_stock is None or low_stock > LOW_STOCK_MAX:
        form.low_stock_threshold.errors.append(
            f"Enter a whole number of items from 0 to {LOW_STOCK_MAX}."
        )
    problems = business_settings_problems(
        session, currency, timezone, 30 if credit_days is None else credit_days
    )
    for field, message in problems.items():
        form[field].errors.append(message)
    if form.errors or credit_days is None or low_stock is None:
        return _settings_page(form, status=400)

    business.name = name
    business.address = (form.address.data or "").strip()
    business.phone = (form.phone.data or "").strip()
    business.currency = currency
    business.timezone = timezone
    business.credit_days = credit_days
    business.low_stock_threshold = low_stock
    session.commit()
    flash("Settings saved. New credit days apply to sales from now on.")
    return redirect(url_for("settings.index"))


def _settings_page(form: SettingsForm, *, status: int = 200) -> tuple[str, int]:
    page = render_template(
        "settings/index.html",
        form=form,
        currencies=currency_codes(),
        timezones=timezone_names(),
    )
    return page, status


TOKENS = text(
    """SELECT t.id, t.name, t.created_at, t.last_used_at, t.revoked_at,
              u.name AS made_by, u.is_active AS maker_active
         FROM api_tokens t
         JOIN users u ON u.business_id = t.business_id AND u.id = t.created_by
        WHERE t.business_id = :business_id
        ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id
        LIMIT :limit OFFSET :offset"""
)


def _tokens_page(
    form: TokenForm,
    *,
    new_token: str | None = None,
    new_token_name: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    page = requested_page()
    rows = db_session().execute(
        TOKENS,
        {
            "business_id": current_user.business_id,
            "limit": page.size + 1,
            "offset": page.offset,
        },
    )
    tokens, page = page_of(list(rows), page)
    html = render_template(
        "settings/tokens.html",
        form=form,
        tokens=tokens,
        page=page,
        new_token=new_token,
        new_token_name=new_token_name,
        error=error,
    )
    return html, status


def _fresh_token_form() -> TokenForm:
    form = TokenForm(formdata=None)
    form.idempotency_key.data = str(uuid.uuid4())
    return form


@bp.get("/tokens")
@owner_required
def tokens() -> tuple[str, int]:
    return _tokens_page(_fresh_token_form())


@bp.post("/tokens")
@owner_required
def create_token() -> tuple[str, int]:
    form = TokenForm()
    key = parse_uuid(form.idempotency_key.data)
    if key is None:
        form.idempotency_key.data = str(uuid.uuid4())
        return _tokens_page(form, error=STALE_FORM, status=400)
    if not form.validate():
        return _tokens_page(form, status=400)
    session = db_session()
    made = _token_made_already(session, key)
    if made is not None:
        return made
    try:
        token, plain = issue_token(
            session,
            business_id=current_user.business_id,
            name=form.name.data or "",
            created_by=current_user.id,
            token_id=key,
        )
        session.commit()
    except ValueError as problem:
        session.rollback()
        form.name.errors.append(str(problem))
        return _tokens_page(form, status=400)
    except IntegrityError:
        session.rollback()  # the same form sent twice at once: the other request made it
        made = _token_made_already(session, key)
        if made is None:
            raise
        return made
    return _tokens_page(_fresh_token_form(), new_token=plain, new_token_name=token.name, status=201)


def _token_made_already(session: Session, key: uuid.UUID) -> tuple[str, int] | None:
    token = session.scalars(
        select(ApiToken).where(ApiToken.business_id == current_user.business_id, ApiToken.id == key)
    ).one_or_none()
    if token is None:
        return None
    error = (
        f"The token '{token.name}' was made already. For safety its value is shown only once; "
        "if you did not copy it, revoke it and make another."
    )
    return _tokens_page(_fresh_token_form(), error=error)


REVOKE = text(
    """UPDATE api_tokens SET revoked_at = now()
        WHERE business_id = :business_id AND id = :token_id AND revoked_at IS NULL
    RETURNING name"""
)


@bp.post("/tokens/<uuid:token_id>/revoke")
@owner_required
def revoke_token(token_id: uuid.UUID) -> Response:
    session = db_session()
    params = {"business_id": current_user.business_id, "token_id": token_id}
    name = session.execute(REVOKE, params).scalar_one_or_none()
    if name is None:
        exists = session.scalar(
            select(ApiToken.id).where(
                ApiToken.business_id == current_user.business_id, ApiToken.id == token_id
            )
        )
        if exists is None:
            abort(404)  # unknown, or another business's (row-level security hides it)
    else:
        session.commit()
        flash(f"The token '{name}' was revoked; it stops working at once.")
    return redirect(url_for("settings.tokens"))
