"""Signing in and changing one's own password: the two changes a person makes to their own
account. Each is one committed unit of work."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from webapp.db import bind_tenant, committed
from webapp.models import User
from webapp.passwords import hash_password, needs_rehash, password_problem, verify_password
from webapp.refusal import Refused

LOGIN_LOOKUP = text("SELECT * FROM login_lookup(:business, :email)")


def authenticate(session: Session, business: str, email: str, password: str) -> User | None:
    """The active user with this shop code, email and password, else None (the same answer
    whichever was wrong). Binds the session to their business; a hash made with older
    parameters is renewed."""
    with committed(session):
        row = session.execute(LOGIN_LOOKUP, {"business": business, "email": email}).one_or_none()
        if not verify_password(row.password_hash if row else None, password) or not (
            row and row.is_active
        ):
            return None
        bind_tenant(session, row.business_id)
        user = session.scalars(
            select(User).where(User.business_id == row.business_id, User.id == row.user_id)
        ).one()
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    return user


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """A new password for `user`, who proved the current one. Their session version goes up, so
    their other sessions end (the caller signs this one in again). Refused: field
    `current_password` or `new_password`."""
    if not verify_password(user.password_hash, current):
        raise Refused("That is not your current password.", "current_password")
    problem = password_problem(new)
    if problem:
        raise Refused(problem, "new_password")
    with committed(session):
        user.password_hash = hash_password(new)
        user.session_version = User.session_version + 1
    session.refresh(user)
