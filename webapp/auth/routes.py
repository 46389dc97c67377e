from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale, gettext, lazy_gettext, ngettext
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from webapp.auth import bp, operations, throttle, two_factor_views
from webapp.auth.forms import ChangePasswordForm, ConfirmPasswordForm, LanguageForm, LoginForm
from webapp.db import db_session
from webapp.extensions import limiter
from webapp.forms import add_error
from webapp.locales import LANGUAGES, interface_language, language_label, language_of
from webapp.models import User
from webapp.refusal import Refused

LOGIN_FAILED = lazy_gettext("That shop code, email and password do not match an active account.")
TOO_MANY = lazy_gettext("Too many attempts from here. Please wait {wait} before trying again.")


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never another host (open-redirect guard)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("dashboard.index")


def _in_words(seconds: int) -> str:
    if seconds < 120:
        return ngettext("%(num)s second", "%(num)s seconds", seconds)
    if seconds < 2 * 3600:
        return ngettext("%(num)s minute", "%(num)s minutes", -(-seconds // 60))
    return ngettext("%(num)s hour", "%(num)s hours", -(-seconds // 3600))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    error = None
    attempt = throttle.Attempt(
        request.form.get("business", ""),
        request.form.get("email", ""),
        request.remote_addr or "unknown",
    )
    if form.is_submitted():
        wait = throttle.wait_for(attempt)
        if wait is not None:
            page = render_template(
                "auth/login.html", form=form, error=str(TOO_MANY).format(wait=_in_words(wait))
            )
            return page, 429, {"Retry-After": str(wait)}
    if form.validate_on_submit():
        user = operations.check_password(
            db_session(), form.business.data or "", form.email.data or "", form.password.data or ""
        )
        if user is not None:
            throttle.succeeded(attempt)
            next_url = _safe_next(request.args.get("next"))
            if user.has_two_factor:  # not signed in until the code is right too
                return two_factor_views.ask_for_code(user, next_url)
            return sign_in(user, next_url)
        throttle.failed(attempt)
        error = LOGIN_FAILED
    status = 200 if error is None and not form.errors else 400
    return render_template("auth/login.html", form=form, error=error), status


def sign_in(user: User, next_url: str) -> Response:
    """Sign the session in as `user`, whose password (and second factor, when on) was right:
    a new session on the server, and its cookie."""
    operations.start_session(db_session(), user)
    session.clear()  # a fresh session: nothing from before sign-in carries over
    login_user(user)
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    if current_user.is_authenticated:
        operations.sign_out(db_session(), current_user._get_current_object())
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def _own_password_key() -> str:
    """Throttle guesses at the current password per account (the limiter may ask before the
    sign-in check has run, so a visitor without an account gets a key of their own)."""
    if current_user.is_authenticated:
        return f"password:{current_user.business_id}:{current_user.id}"
    return f"password:{request.remote_addr}"


def _password_limit() -> str:
    return str(current_app.config["PASSWORD_CHECK_LIMIT"])


@bp.route("/account/confirm", methods=["GET", "POST"])
@limiter.limit(_password_limit, key_func=_own_password_key, methods=["POST"])
def confirm() -> str | Response | tuple[str, int]:
    """Confirm it's you: an owner enters their password again (staff, token and settings
    changes ask for it when it was last entered more than 15 minutes ago), then goes back."""
    form = ConfirmPasswordForm()
    next_url = _safe_next(request.args.get("next"))
    if form.validate_on_submit():
        user: User = current_user._get_current_object()
        try:
            operations.confirm_password(db_session(), user, form.password.data or "")
        except Refused as refusal:
            add_error(form.password, refusal.message)
        else:
            return redirect(next_url)
    status = 400 if form.errors else 200
    return render_template("auth/confirm.html", form=form, next_url=next_url), status


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(_password_limit, key_func=_own_password_key, methods=["POST"])
def change_password() -> str | Response | tuple[str, int]:
    """Any signed-in user: change their own password. Their other sessions end; this one goes
    on."""
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
            flash(gettext("Your password was changed. You are signed out everywhere else."))
            return redirect(url_for("dashboard.index"))
    status = 400 if form.errors else 200
    return _account_page(form, language_form()), status


def language_form() -> LanguageForm:
    """The language select: the shop's (the default, named) or one of ours, each in its own
    words so a person who cannot read the page still finds theirs."""
    form = LanguageForm()
    shop = language_of(current_user.business.locale)
    form.language.choices = [
        ("", gettext("The shop's: %(language)s", language=language_label(shop))),
        *((code, language_label(code)) for code in LANGUAGES),
    ]
    if not form.is_submitted():
        form.language.data = current_user.language or ""
    return form


def _account_page(form: ChangePasswordForm, languages: LanguageForm) -> str:
    return render_template("auth/password.html", form=form, language_form=languages)


@bp.route("/account/language", methods=["POST"])
def change_language() -> str | Response | tuple[str, int]:
    """Anyone signed in: the language of their own pages (None: their shop's)."""
    form = language_form()
    if form.validate_on_submit():
        user: User = current_user._get_current_object()
        try:
            operations.set_language(db_session(), user, form.language.data or None)
        except Refused as refusal:
            add_error(form.language, refusal.message)
        else:
            # Flashed after the change, so it reads in the language just chosen.
            with force_locale(interface_language()):
                flash(gettext("Your language was saved."))
            return redirect(url_for("auth.change_password"))
    return _account_page(ChangePasswordForm(formdata=None), form), 400
