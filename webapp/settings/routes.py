"""Settings: the business's details, money, time and credit rules, and its API tokens.

Owners only. A new API token's value is shown once, in the answer to the POST that made it
(never in a URL, a cookie or the session: Flask's session is a signed, not encrypted, cookie).
That answer is not cached (`no-store`, as every page); sent again (a reload, a double click),
the same idempotency key finds the token already made and says its value cannot be shown again.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from functools import cache
from zoneinfo import available_timezones

from babel.numbers import list_currencies
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from webapp.auth.access import owner_required
from webapp.db import db_session
from webapp.formatting import local_date, money
from webapp.forms import add_error
from webapp.idempotency import KeyReused
from webapp.listing import page_of, requested_page
from webapp.locales import date_example
from webapp.models import Business
from webapp.overdue.reminders import PLACEHOLDERS, reminder_text
from webapp.refusal import Refused
from webapp.reports import business_today
from webapp.settings import bp, operations
from webapp.settings.forms import SettingsForm, TokenForm


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
        form.default_credit_limit.data = str(business.default_credit_limit)
        form.api_requests_per_minute.data = str(business.api_requests_per_minute)
        form.clerk_correction_minutes.data = str(business.clerk_correction_minutes)
        return _settings_page(form)
    if not form.validate():
        return _settings_page(form, status=400)
    settings, problems = operations.read_settings(
        session, request.form, current_locale=business.locale
    )
    for field, message in problems.items():
        add_error(form[field], message)
    if settings is None:
        return _settings_page(form, status=400)
    if request.form.get("action") == "preview":
        # The reminder as a customer would read it, from the text typed: nothing is saved.
        return _settings_page(form, preview=reminder_preview(business, settings))
    operations.update_settings(session, business, settings, actor_id=current_user.id)
    flash(
        gettext(
            "Settings saved. New credit days apply to sales from now on, "
            "a new default credit limit to customers added from now on."
        )
    )
    return redirect(url_for("settings.index"))


def _settings_page(
    form: SettingsForm, *, status: int = 200, preview: str | None = None
) -> tuple[str, int]:
    page = render_template(
        "settings/index.html",
        form=form,
        currencies=currency_codes(),
        timezones=timezone_names(),
        placeholders=PLACEHOLDERS,
        preview=preview,
        locale_example=f"{money(Decimal('1234.50'))} · {date_example()}",
    )
    return page, status


def reminder_preview(business: Business, settings: operations.Settings) -> str:
    """The reminder with a sample customer's figures, in the shop's words as typed."""
    return reminder_text(
        settings.name or business.name,
        "Grace Mensah",
        money(Decimal("1250.00")),
        local_date(business_today(db_session()) - timedelta(days=30)),
        template=settings.reminder_template,
        payment_instructions=settings.payment_instructions,
        statement_link=url_for("share.statement", token=SAMPLE_LINK_ENDING, _external=True),
    )


# What {statement_link} looks like in the preview: an address of the shape each reminder
# sends, which opens nothing.
SAMPLE_LINK_ENDING = "aB3dE5fG7hJ9kL2mN4pQ6rS8tU1vW3xY5zA7bC9dE1f"


TOKENS = text(
    """SELECT t.id, t.name, t.created_at, t.last_used_at, t.revoked_at, t.revoked_reason,
              u.name AS made_by, u.is_active AS maker_active, r.name AS revoked_by
         FROM api_tokens t
         JOIN users u ON u.business_id = t.business_id AND u.id = t.created_by
         LEFT JOIN users r ON r.business_id = t.business_id AND r.id = t.revoked_by
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


@bp.get("/tokens")
@owner_required
def tokens() -> tuple[str, int]:
    return _tokens_page(TokenForm(formdata=None))


@bp.post("/tokens")
@owner_required
def create_token() -> tuple[str, int]:
    form = TokenForm()
    if not form.validate() or form.key is None:
        return _tokens_page(form, status=400)
    try:
        token, plain = operations.make_token(
            db_session(),
            business_id=current_user.business_id,
            name=form.name.data or "",
            created_by=current_user.id,
            key=form.key,
        )
    except Refused as refusal:
        add_error(form.name, refusal.message)
        return _tokens_page(form, status=400)
    except KeyReused:
        form.renew_key()  # the key made another token: this form was out of date
        return _tokens_page(form, status=409)
    if plain is None:
        error = gettext(
            "The token '%(name)s' was made already. For safety its value "
            "is shown only once; if you did not copy it, revoke it and "
            "make another.",
            name=token.name,
        )
        return _tokens_page(TokenForm(formdata=None), error=error)
    return _tokens_page(
        TokenForm(formdata=None), new_token=plain, new_token_name=token.name, status=201
    )


@bp.post("/tokens/<uuid:token_id>/revoke")
@owner_required
def revoke_token(token_id: uuid.UUID) -> Response:
    try:
        name = operations.revoke_token(
            db_session(), current_user.business_id, token_id, current_user.id
        )
    except Refused:
        abort(404)  # unknown, or another business's (row-level security hides it)
    if name is not None:
        flash(gettext("The token '%(name)s' was revoked; it stops working at once.", name=name))
    return redirect(url_for("settings.tokens"))
