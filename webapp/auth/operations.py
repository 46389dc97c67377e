"""Signing in and out, confirming one's password, and changing it: the changes a person makes
to their own account and sessions. Each public function is one committed unit of work, except
`end_sessions`, which staff changes call inside their own.

A session is a row of `user_sessions` (migration 0013): the browser's cookie holds the business
and a random secret, the row only the secret's SHA-256. It ends on the server: at sign-out, when
the user's password, role or status changes (`end_sessions`; `users.session_version` goes up
too, which ends a session that began meanwhile), and `SESSION_LIFETIME` after sign-in whatever
the activity.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from webapp.db import bind_tenant, committed, unit_of_work
from webapp.locales import LANGUAGES
from webapp.models import User, UserSession
from webapp.passwords import hash_password, needs_rehash, password_problem, verify_password
from webapp.refusal import Refused

LOGIN_LOOKUP = text("SELECT * FROM login_lookup(:business, :email)")
SESSION_LIFETIME = timedelta(hours=12)  # from sign-in; activity does not extend it
RECENT_PASSWORD = timedelta(minutes=15)  # owners enter it again before staff/settings changes
# last_seen_at is written at most this often: pages must not each write their session's row.
SEEN_EVERY = timedelta(minutes=1)
END_REASONS = ("signed_out", "password_changed", "deactivated", "role_changed")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def cookie_id(business_id: uuid.UUID, secret: str) -> str:
    return f"{business_id}:{secret}"


def read_cookie_id(value: str) -> tuple[uuid.UUID, str] | None:
    """The business and secret of a cookie's session id; None when it is not one."""
    business_part, _, secret = value.partition(":")
    try:
        business_id = uuid.UUID(business_part)
    except ValueError:
        return None
    if not 20 <= len(secret) <= 100:
        return None
    return business_id, secret


@dataclass(frozen=True)
class SignedIn:
    user: User
    cookie_id: str  # what the session cookie keeps (business and secret)


START_SESSION = text(
    """INSERT INTO user_sessions (business_id, user_id, secret_hash, user_version, expires_at)
       VALUES (:business_id, :user_id, :secret_hash, :user_version,
               now() + make_interval(secs => :lifetime))"""
)


def check_password(session: Session, business: str, email: str, password: str) -> User | None:
    """The active user with this shop code, email and password, else None (the same answer
    whichever was wrong). Binds the session to their business; a hash made with older
    parameters is renewed. Signs no one in: see start_session (after the second factor, when
    the user has one)."""
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


def start_session(session: Session, user: User) -> SignedIn:
    """A new session on the server for `user`, who proved who they are; its cookie id is set on
    the user (what Flask-Login keeps)."""
    secret = secrets.token_urlsafe(32)
    bind_tenant(session, user.business_id)
    with committed(session):
        session.execute(
            START_SESSION,
            {
                "business_id": user.business_id,
                "user_id": user.id,
                "secret_hash": hash_secret(secret),
                "user_version": user.session_version,
                "lifetime": SESSION_LIFETIME.total_seconds(),
            },
        )
    user.cookie_id = cookie_id(user.business_id, secret)
    return SignedIn(user, user.cookie_id)


def sign_in(session: Session, business: str, email: str, password: str) -> SignedIn | None:
    """Both steps at once, for a user without a second factor (tests, scripts)."""
    user = check_password(session, business, email, password)
    return start_session(session, user) if user is not None else None


# Read on every request: the session's row, open and not expired, of an active user whose
# session version has not moved on since it began.
SIGNED_IN = (
    select(
        User,
        UserSession.id,
        (UserSession.password_at > func.now() - RECENT_PASSWORD).label("recent"),
        (UserSession.last_seen_at < func.now() - SEEN_EVERY).label("unseen"),
    )
    .join(
        UserSession,
        (UserSession.business_id == User.business_id) & (UserSession.user_id == User.id),
    )
    .where(
        UserSession.ended_at.is_(None),
        UserSession.expires_at > func.now(),
        UserSession.user_version == User.session_version,
        User.is_active,
    )
)
TOUCH = text(
    """UPDATE user_sessions SET last_seen_at = now()
        WHERE business_id = :business_id AND id = :id"""
)


def signed_in_user(session: Session, value: str) -> User | None:
    """The user whose session the cookie's id names, while that session lasts; None otherwise.
    Binds the session to the cookie's business (row-level security finds nothing in another)."""
    parsed = read_cookie_id(value)
    if parsed is None:
        return None
    business_id, secret = parsed
    bind_tenant(session, business_id)
    found = session.execute(
        SIGNED_IN.where(
            UserSession.business_id == business_id,
            UserSession.secret_hash == hash_secret(secret),
        )
    ).one_or_none()
    if found is None:
        session.rollback()
        return None
    user, session_id, recent, unseen = found
    if unseen:
        with committed(session):
            session.execute(TOUCH, {"business_id": business_id, "id": session_id})
    user.cookie_id, user.session_id, user.password_recent = value, session_id, bool(recent)
    return user


END_SESSIONS = text(
    """UPDATE user_sessions SET ended_at = now(), ended_reason = :reason
        WHERE business_id = :business_id AND user_id = :user_id AND ended_at IS NULL
          AND id IS DISTINCT FROM :keep"""
)
KEEP_SESSION = text(
    """UPDATE user_sessions SET user_version = :version
        WHERE business_id = :business_id AND id = :keep AND user_id = :user_id"""
)


def end_sessions(
    session: Session,
    *,
    business_id: uuid.UUID,
    user_id: uuid.UUID,
    reason: str,
    version: int,
    keep: uuid.UUID | None = None,
) -> None:
    """In the caller's transaction: end the user's open sessions (but `keep`, the one acting
    now, which goes on under the user's new session `version`)."""
    assert reason in END_REASONS
    params = {"business_id": business_id, "user_id": user_id, "keep": keep}
    session.execute(END_SESSIONS, {**params, "reason": reason})
    if keep is not None:
        session.execute(KEEP_SESSION, {**params, "version": version})


END_ONE = text(
    """UPDATE user_sessions SET ended_at = now(), ended_reason = 'signed_out'
        WHERE business_id = :business_id AND id = :id AND ended_at IS NULL"""
)


@unit_of_work
def sign_out(session: Session, user: User) -> None:
    """End this session of `user` on the server: its cookie, copied or not, signs no one in."""
    if user.session_id is not None:
        session.execute(END_ONE, {"business_id": user.business_id, "id": user.session_id})


CONFIRMED = text(
    """UPDATE user_sessions SET password_at = now()
        WHERE business_id = :business_id AND id = :id AND ended_at IS NULL"""
)


def confirm_password(session: Session, user: User, password: str) -> None:
    """`user` entered their password again in this session (owners, before staff, token and
    settings changes). Refused: field `password`."""
    if not verify_password(user.password_hash, password) or user.session_id is None:
        raise Refused(gettext("That is not your password."), "password")
    with committed(session):
        session.execute(CONFIRMED, {"business_id": user.business_id, "id": user.session_id})
    user.password_recent = True


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """A new password for `user`, who proved the current one. Their other sessions end; this
    one goes on. Refused: field `current_password` or `new_password`."""
    if not verify_password(user.password_hash, current):
        raise Refused(gettext("That is not your current password."), "current_password")
    problem = password_problem(new)
    if problem:
        raise Refused(problem, "new_password")
    with committed(session):
        user.password_hash = hash_password(new)
        user.password_must_change = False
        user.session_version = User.session_version + 1
        session.flush()
        session.refresh(user, ["session_version"])
        keep = user.session_id
        end_sessions(
            session,
            business_id=user.business_id,
            user_id=user.id,
            reason="password_changed",
            version=user.session_version,
            keep=keep,
        )
        if keep is not None:
            session.execute(CONFIRMED, {"business_id": user.business_id, "id": keep})
    session.refresh(user)


# A one-time password: 16 letters and digits that cannot be mistaken for one another when read
# out or copied by hand (about 80 bits), in groups of four.
ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def one_time_password() -> str:
    letters = "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(16))
    return "-".join(letters[i : i + 4] for i in range(0, 16, 4))


def issue_one_time_password(session: Session, user: User) -> str:
    """In the caller's transaction (an admin command's): a new password for `user`, returned
    once, which they must change at sign-in before anything else. Their open sessions end.
    Refused for a deactivated user (an owner reactivates them; a password would not)."""
    if not user.is_active:
        raise Refused(
            gettext(
                "%(name)s <%(email)s> is deactivated: an owner reactivates "
                "them on the Staff page first.",
                name=user.name,
                email=user.email,
            )
        )
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.password_must_change = True
    user.session_version = User.session_version + 1
    session.flush()
    session.refresh(user, ["session_version"])
    end_sessions(
        session,
        business_id=user.business_id,
        user_id=user.id,
        reason="password_changed",
        version=user.session_version,
    )
    return password


@unit_of_work
def set_language(session: Session, user: User, language: str | None) -> None:
    """The language of `user`'s pages: one of locales.LANGUAGES, or None for their shop's.
    Refused: field `language`."""
    if language is not None and language not in LANGUAGES:
        raise Refused(gettext("Choose a language from the list."), "language")
    user.language = language
    session.flush()
