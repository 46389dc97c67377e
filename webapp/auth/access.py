"""Who is signed in: deny by default, and the session ends when the user may no longer sign in."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import abort, request
from flask_login import current_user
from sqlalchemy import select

from webapp.db import bind_tenant, db_session
from webapp.extensions import login_manager
from webapp.models import User

# Endpoints anyone may reach. Everything else needs a signed-in user; the API blueprint
# authenticates each request with its own bearer token instead of the session.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.two_factor_login", "static", "health"})
TOKEN_AUTH_BLUEPRINTS = frozenset({"api"})

P = ParamSpec("P")
R = TypeVar("R")


def load_user(token: str) -> User | None:
    try:
        business_part, user_part, version_part = token.split(":")
        business_id, user_id = uuid.UUID(business_part), uuid.UUID(user_part)
        version = int(version_part)
    except ValueError:
        return None
    session = db_session()
    bind_tenant(session, business_id)
    user = session.scalars(
        select(User).where(User.business_id == business_id, User.id == user_id)
    ).one_or_none()
    # A deactivated user, or one whose password changed since, is signed out here.
    if user is None or not user.is_active or user.session_version != version:
        return None
    return user


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


def owner_required(view: Callable[P, R]) -> Callable[P, R]:
    """Owners only: a clerk gets the 403 page, whatever the method."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_authenticated or not current_user.is_owner:
            abort(403)
        return view(*args, **kwargs)

    return guarded
