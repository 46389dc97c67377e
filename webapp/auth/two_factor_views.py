"""The second factor's pages: an owner's own page to set it up or turn it off
(/account/two-factor), the second step of signing in (/login/code), and the rule that an owner
of a shop that requires it sets it up before anything else.

Signing in with a second factor: the right password (webapp/auth/routes.py) does not sign the
session in; it leaves a note in it (who, where to go next, when) and sends the browser here.
Only the right code then signs in, through the same `routes.sign_in` as a password alone. The
note lasts five minutes and names the user's session version, so a password changed (or the
user deactivated) meanwhile ends it; guesses are throttled per account and per address.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

# routes imports this module to hand over to it after the password; this module calls
# routes.sign_in only once a request runs, so the import cycle is harmless.
from webapp.auth import bp, routes, two_factor
from webapp.auth.access import PUBLIC_ENDPOINTS, TOKEN_AUTH_BLUEPRINTS, owner_required
from webapp.auth.two_factor_forms import (
    ConfirmForm,
    RenewCodesForm,
    SignInCodeForm,
    StartForm,
    TurnOffForm,
)
from webapp.db import bind_tenant, db_session
from webapp.extensions import limiter
from webapp.forms import add_error
from webapp.inputs import parse_uuid
from webapp.models import User
from webapp.refusal import Refused
from webapp.serving import logs, metrics

log = logging.getLogger(__name__)

PENDING = "two_factor_pending"
PENDING_SECONDS = 300
# Guesses at a code: 3 of the million codes are right at any moment, so few tries a minute.
CODE_LIMIT = "5 per minute; 30 per hour"
# What an owner who must set up a second factor may still open.
SETUP_ENDPOINTS = frozenset(
    {
        "auth.two_factor",
        "auth.two_factor_start",
        "auth.two_factor_confirm",
        "auth.logout",
        "auth.login",
        "auth.two_factor_login",
        "auth.change_password",  # a one-time password is changed first (auth.access)
        "static",
        "health",
    }
)


# --- Signing in ---------------------------------------------------------------------------


def ask_for_code(user: User, next_url: str) -> Response:
    """After the right password of a user with a second factor: not signed in yet."""
    session.clear()
    session[PENDING] = {
        "business": str(user.business_id),
        "user": str(user.id),
        "version": user.session_version,
        "next": next_url,
        "at": int(two_factor.now()),
    }
    return redirect(url_for("auth.two_factor_login"))


def _pending() -> tuple[User, str] | None:
    """The user whose password was right a moment ago in this browser, and where they go:
    still active, with the same password (session version) and a second factor."""
    note = session.get(PENDING)
    if not isinstance(note, dict):
        return None
    next_url, at, version = note.get("next"), note.get("at"), note.get("version")
    business_id, user_id = parse_uuid(note.get("business")), parse_uuid(note.get("user"))
    if business_id is None or user_id is None or not isinstance(next_url, str):
        return None
    if not isinstance(at, int) or not 0 <= two_factor.now() - at <= PENDING_SECONDS:
        return None
    db = db_session()
    bind_tenant(db, business_id)
    user = db.scalars(
        select(User).where(User.business_id == business_id, User.id == user_id)
    ).one_or_none()
    if user is None or not user.is_active or user.session_version != version:
        return None
    return (user, next_url) if user.has_two_factor else None


def _pending_key() -> str:
    note = session.get(PENDING)
    user_id = note.get("user") if isinstance(note, dict) else None
    return f"two-factor-login:{user_id if isinstance(user_id, str) else request.remote_addr}"


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(
    lambda: f"{current_app.config['LOGIN_FAILURES_PER_ADDRESS']} per minute", methods=["POST"]
)
@limiter.limit(CODE_LIMIT, key_func=_pending_key, methods=["POST"])
def two_factor_login() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    pending = _pending()
    if pending is None:
        session.pop(PENDING, None)
        flash(gettext("Please sign in again."))
        return redirect(url_for("auth.login"))
    user, next_url = pending
    form = SignInCodeForm()
    if form.validate_on_submit():
        try:
            check = two_factor.check_sign_in(db_session(), user, form.code.data or "")
        except Refused as refusal:
            metrics.sign_in_failed("second_factor")
            logs.event(
                log,
                "sign_in_failed",
                logging.WARNING,
                reason="second_factor",
                business_id=str(user.business_id),
                user_id=str(user.id),
                address=request.remote_addr,
            )
            add_error(form.code, refusal.message)
        else:
            response = routes.sign_in(user, next_url)
            if check.recovery_code_used:
                flash(
                    gettext(
                        "You signed in with a recovery code; it cannot be used "
                        "again. %(recovery_codes_left)s left: make new ones on your "
                        "Second factor page when they run low.",
                        recovery_codes_left=check.recovery_codes_left,
                    )
                )
            return response
    status = 400 if form.errors else 200
    return render_template("auth/two_factor_code.html", form=form), status


# --- An owner must set it up first --------------------------------------------------------


def require_two_factor_setup() -> Response | None:
    """before_request, after require_login: an owner of a shop that requires a second factor,
    without one, is sent to set it up before anything else (clerks never are)."""
    if request.endpoint is None or request.endpoint in SETUP_ENDPOINTS:
        return None
    if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in TOKEN_AUTH_BLUEPRINTS:
        return None
    if not current_user.is_authenticated or not two_factor.must_set_up(current_user):
        return None
    return redirect(url_for("auth.two_factor"))


# --- The owner's own page -----------------------------------------------------------------


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _account_key() -> str:
    if current_user.is_authenticated:
        return f"two-factor:{current_user.business_id}:{current_user.id}"
    return f"two-factor:{request.remote_addr}"


def _page(status: int = 200, **forms: Any) -> tuple[str, int]:
    user = _me()
    left = two_factor.recovery_codes_left(db_session(), user) if user.has_two_factor else 0
    html = render_template(
        "auth/two_factor.html",
        enrolment=two_factor.enrolment(user) if user.is_owner else None,
        must_set_up=two_factor.must_set_up(user),
        codes_left=left,
        start_form=forms.get("start_form") or StartForm(formdata=None),
        confirm_form=forms.get("confirm_form") or ConfirmForm(formdata=None),
        off_form=forms.get("off_form") or TurnOffForm(formdata=None),
        renew_form=forms.get("renew_form") or RenewCodesForm(formdata=None),
        error=forms.get("error"),
    )
    return html, status


@bp.get("/account/two-factor", endpoint="two_factor")
def two_factor_page() -> tuple[str, int]:
    """Owners set it up here; anyone with it on (an owner since made a clerk) turns it off."""
    if not current_user.is_owner and not current_user.has_two_factor:
        abort(403)
    return _page()


@bp.post("/account/two-factor/start")
@owner_required
def two_factor_start() -> Response | tuple[str, int]:
    form = StartForm()
    if not form.validate():
        return _page(400, start_form=form)
    try:
        two_factor.start_setup(db_session(), _me())
    except Refused as refusal:
        flash(refusal.message)
    return redirect(url_for("auth.two_factor"))


@bp.post("/account/two-factor/confirm")
@owner_required
@limiter.limit(CODE_LIMIT, key_func=_account_key)
def two_factor_confirm() -> tuple[str, int]:
    form = ConfirmForm()
    if not form.validate():
        return _page(400, confirm_form=form)
    try:
        codes = two_factor.confirm_setup(db_session(), _me(), form.code.data or "")
    except Refused as refusal:
        if refusal.field:
            add_error(form[refusal.field], refusal.message)
            return _page(400, confirm_form=form)
        return _page(409, error=refusal.message)
    return render_template("auth/recovery_codes.html", codes=codes, first_time=True), 200


@bp.post("/account/two-factor/recovery-codes")
@limiter.limit(CODE_LIMIT, key_func=_account_key)
def two_factor_recovery_codes() -> tuple[str, int]:
    form = RenewCodesForm()
    if not form.validate():
        return _page(400, renew_form=form)
    try:
        codes = two_factor.renew_recovery_codes(db_session(), _me(), form.code.data or "")
    except Refused as refusal:
        add_error(form.code, refusal.message)
        return _page(400, renew_form=form)
    return render_template("auth/recovery_codes.html", codes=codes, first_time=False), 200


@bp.post("/account/two-factor/off")
@limiter.limit(CODE_LIMIT, key_func=_account_key)
def two_factor_off() -> Response | tuple[str, int]:
    form = TurnOffForm()
    if not form.validate():
        return _page(400, off_form=form)
    try:
        two_factor.turn_off(db_session(), _me(), form.password.data or "", form.code.data or "")
    except Refused as refusal:
        return _page(400, off_form=form, error=refusal.message)
    flash(gettext("Your second factor is off: signing in needs only your password."))
    return redirect(url_for("auth.two_factor"))
