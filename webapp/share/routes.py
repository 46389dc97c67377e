"""The shared statement (GET /s/<token>, no sign-in) and the staff's actions on the customer's
page: share the statement (a new link) and revoke a link.

The public page is the app's only page for someone who is not staff: its own small layout
(no navigation, no link into the app, no form, no session or CSRF cookie), `noindex` for
search engines, no Referer sent on (the token is in its address), not cached, and limited per
address. Whatever is wrong with a link — unknown, changed, made under another key, expired,
revoked — it answers the same plain page, 404: from outside nothing tells them apart."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from webapp import reports
from webapp.customers.queries import customer_or_404
from webapp.db import db_session
from webapp.extensions import limiter
from webapp.formatting import show_business
from webapp.idempotency import KeyReused
from webapp.refusal import Refused
from webapp.share import bp, operations, queries
from webapp.share.forms import RevokeForm, ShareForm

PUBLIC_ENDPOINT = "share.statement"
# Headers of the public page (its refusals too): not indexed, the token never sent on.
PUBLIC_HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}


def _opened_per_address() -> str:
    return str(current_app.config["STATEMENT_LINK_LIMIT"])


@bp.get("/s/<token>")
@limiter.limit(_opened_per_address)
def statement(token: str) -> tuple[str, int]:
    session = db_session()
    opened = queries.open_link(session, token)
    if opened is None:
        return _gone()
    show_business(opened.business)
    link, customer = opened.link, opened.customer
    today = reports.business_today(session)
    date_to = link.date_to or today
    sales = reports.open_sales(session, customer.id)
    return render_template(
        "share/statement.html",
        business=opened.business,
        customer=customer,
        link=link,
        statement=reports.statement(session, customer.id, link.date_from, date_to),
        overdue=reports.overdue_amount(sales),
    ), 200


def _gone() -> tuple[str, int]:
    page = render_template(
        "share/refused.html",
        title=gettext("This link has expired"),
        detail=gettext("This link has expired — ask the shop for a new one."),
    )
    return page, 404


@bp.errorhandler(429)
def too_many(_error: Exception) -> tuple[str, int]:
    page = render_template(
        "share/refused.html",
        title=gettext("Too many requests"),
        detail=gettext("Please wait a minute, then open the link again."),
    )
    return page, 429


@bp.after_request
def public_headers(response: Response) -> Response:
    if request.endpoint == PUBLIC_ENDPOINT:
        response.headers.update(PUBLIC_HEADERS)
    return response


# --- On the customer's page ---------------------------------------------------------------


def _back(customer_id: uuid.UUID) -> Response:
    return redirect(url_for("customers.detail", customer_id=customer_id, _anchor="shared-links"))


@bp.post("/customers/<uuid:customer_id>/statement-links")
def share(customer_id: uuid.UUID) -> Response:
    session = db_session()
    customer = customer_or_404(session, customer_id, archived_too=True)
    form = ShareForm()
    if not form.validate() or form.key is None or form.days.data is None:
        problem = (
            gettext("The link was not made: the form was out of date. Try again.")
            if form.key is None
            else gettext("The link was not made: check the period and how long it stays open.")
        )
        flash(problem, "error")
        return _back(customer.id)
    today = reports.business_today(session)
    date_from = form.date_from.data or today - timedelta(days=90)
    date_to = form.date_to.data or today
    if date_to < date_from:
        date_from, date_to = date_to, date_from
    date_from = min(date_from, today)  # a period can start no later than today
    # Up to today: then up to the day it is opened, so the page stays current.
    until: date | None = None if date_to >= today else date_to
    try:
        _link, made = operations.share_statement(
            session,
            customer,
            user_id=current_user.id,
            date_from=date_from,
            date_to=until,
            days=int(form.days.data),
            key=form.key,
        )
    except KeyReused:
        flash(gettext("The link was not made: the form was out of date. Try again."), "error")
        return _back(customer.id)
    except Refused as refusal:
        flash(refusal.message, "error")
        return _back(customer.id)
    if made:
        message = gettext(
            "A link to the statement was made: copy it below and send it to %(name)s.",
            name=customer.name,
        )
    else:  # the same form sent again
        message = gettext("This link was made already; here it is.")
    flash(message, "success")
    return _back(customer.id)


@bp.post("/customers/<uuid:customer_id>/statement-links/<uuid:link_id>/revoke")
def revoke(customer_id: uuid.UUID, link_id: uuid.UUID) -> Response:
    session = db_session()
    customer = customer_or_404(session, customer_id, archived_too=True)
    RevokeForm().validate()  # the CSRF token (checked before the view as well)
    try:
        revoked = operations.revoke(
            session,
            customer,
            link_id,
            user_id=current_user.id,
            is_owner=current_user.is_owner,
        )
    except LookupError:
        raise NotFound() from None
    except operations.NotYours:
        abort(403)  # a clerk is offered Revoke only on the links they made
    if revoked:
        flash(gettext("The link was revoked: it no longer opens."), "success")
    else:
        flash(gettext("That link was revoked already."), "success")
    return _back(customer.id)
