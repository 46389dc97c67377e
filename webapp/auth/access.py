"""Who is signed in: deny by default; a session lasts only while its row in user_sessions does
(auth.operations); owners enter their password again before staff, token and settings changes."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import abort, redirect, request, url_for
from flask_login import current_user

from webapp.auth import operations
from webapp.db import db_session
from webapp.extensions import login_manager
from webapp.models import User

# Endpoints anyone may reach. Everything else needs a signed-in user; the API blueprint
# authenticates each request with its own bearer token instead of the session, and so do the
# metrics (SHOPCREDIT_METRICS_TOKEN, webapp/serving/metrics.py) and a shared statement (its
# link's token, webapp/share).
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.login",
        "auth.two_factor_login",
        "static",
        "health",
        "readiness",
        "metrics",
        "share.statement",
    }
)
TOKEN_AUTH_BLUEPRINTS = frozenset({"api"})

P = ParamSpec("P")
R = TypeVar("R")


def load_user(cookie_id: str) -> User | None:
    """The session cookie's user while its session lasts on the server: not signed out, not
    ended by a password, role or status change, not older than 12 hours."""
    return operations.signed_in_user(db_session(), cookie_id)


login_manager.user_loader(load_user)  # called, not used as a decorator: it has no types


def require_login() -> Any:
    """before_request: every endpoint not explicitly public needs a signed-in user."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.blueprint in TOKEN_AUTH_BLUEPRINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


# Where someone who must change their password (a one-time password from `reset-password`)
# may go before they have.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout"})


def require_password_change() -> Any:
    """before_request, after require_login: a person signed in with a one-time password is sent
    to change it before anything else (their API tokens go on working)."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS or endpoint in PASSWORD_CHANGE_ENDPOINTS:
        return None
    if request.blueprint in TOKEN_AUTH_BLUEPRINTS:
        return None
    if current_user.is_authenticated and current_user.password_must_change:
        return redirect(url_for("auth.change_password"))
    return None


def owner_required(view: Callable[P, R]) -> Callable[P, R]:
    """Owners only: a clerk gets the 403 page, whatever the method."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_authenticated or not current_user.is_owner:
            abort(403)
        return view(*args, **kwargs)

    return guarded


def _page_to_return_to() -> str:
    """Where to come back after confirming: this page, or for a POST the page its form was on
    (the same site's Referer), else home. The POST itself is not carried out."""
    if request.method == "GET":
        query = request.query_string.decode("latin-1")
        return request.path + (f"?{query}" if query else "")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return url_for("dashboard.index")


def require_recent_password() -> Any:
    """before_request of the staff and settings blueprints: an owner whose password was last
    entered in this session more than 15 minutes ago confirms it first (the "confirm it's you"
    page), then comes back. Clerks go on to the views' 403."""
    if not current_user.is_authenticated or not current_user.is_owner:
        return None
    if current_user.password_recent:
        return None
    return redirect(url_for("auth.confirm", next=_page_to_return_to()))
