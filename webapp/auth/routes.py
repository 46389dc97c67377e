from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from webapp.auth import bp, operations, two_factor_views
from webapp.auth.forms import ChangePasswordForm, LoginForm
from webapp.db import db_session
from webapp.extensions import limiter
from webapp.forms import add_error
from webapp.models import User
from webapp.refusal import Refused

LOGIN_FAILED = "That shop code, email and password do not match an active account."


def _account_key() -> str:
    """Throttle guesses at one account however many addresses they come from."""
    business = request.form.get("business", "").strip().lower()
    email = request.form.get("email", "").strip().lower()
    return f"login:{business}:{email}"


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never another host (open-redirect guard)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
)
def login() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = operations.authenticate(
            db_session(), form.business.data or "", form.email.data or "", form.password.data or ""
        )
        if user is not None:
            next_url = _safe_next(request.args.get("next"))
            if user.has_two_factor:  # not signed in until the code is right too
                return two_factor_views.ask_for_code(user, next_url)
            return sign_in(user, next_url)
        error = LOGIN_FAILED
    status = 200 if error is None and not form.errors else 400
    return render_template("auth/login.html", form=form, error=error), status


def sign_in(user: User, next_url: str) -> Response:
    """Sign the session in as `user`, whose password (and second factor, when on) was right."""
    session.clear()  # a fresh session: nothing from before sign-in carries over
    login_user(user)
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def _own_password_key() -> str:
    """Throttle guesses at the current password per account (the limiter may ask before the
    sign-in check has run, so a visitor without an account gets a key of their own)."""
    if current_user.is_authenticated:
        return f"password:{current_user.business_id}:{current_user.id}"
    return f"password:{request.remote_addr}"


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_own_password_key,
    methods=["POST"],
)
def change_password() -> str | Response | tuple[str, int]:
    """Any signed-in user: change their own password. Their other sessions end (the session
    version goes up); this one goes on, signed in again with the new version."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user: User = current_user._get_current_object()
        try:
            operations.change_own_password(
                db_session(),
                user,
                form.current_password.data or "",
                form.new_password.data or "",
            )
        except Refused as refusal:
            add_error(form[refusal.field or "new_password"], refusal.message)
        else:
            login_user(user)
            flash("Your password was changed. You are signed out everywhere else.")
            return redirect(url_for("dashboard.index"))
    status = 400 if form.errors else 200
    return render_template("auth/password.html", form=form), status
