"""Staff accounts: adding a user, and changing one under the rule that needs a lock — a business
always keeps at least one active owner. Each function here is one committed unit of work (the
CLI's `create_user` writes in the command's transaction); a refusal has written nothing.

Every change here first locks the business's active owner rows (one statement, ordered by id, so
two owners acting at once queue in the same order and never deadlock) and only then counts
them. Two owners demoting each other at the same moment are therefore serialised: the second
one finds, after the wait, that it is no longer an owner (or that the other is the last one),
and is refused. Deactivation, a role change and a password reset end the user's open sessions
(`auth.operations.end_sessions`, and their `session_version` goes up, which also ends a session
begun meanwhile); deactivation also revokes the API tokens they made, for good.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from psycopg import errors as pg_errors
from sqlalchemy import Row, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.activity import log as activity
from webapp.auth.operations import end_sessions
from webapp.db import unit_of_work
from webapp.idempotency import create_once, fingerprint
from webapp.inputs import EMAIL_PATTERN, checked_text
from webapp.models import User
from webapp.passwords import hash_password, password_problem
from webapp.refusal import Refused

ROLES = ("owner", "clerk")


class StaffRefusal(Refused):
    """A staff change the rules do not allow (fields: email, name, role, password)."""


class NotAnOwner(StaffRefusal):
    """The one acting is no longer an active owner (demoted or deactivated meanwhile)."""


class UserNotFound(StaffRefusal):
    """No such user in this business (another business's id included)."""


class EmailTakenMeanwhile(StaffRefusal):
    """Someone else added the same email at the same moment (the unique index refused it)."""


def create_user(
    session: Session,
    *,
    business_id: uuid.UUID,
    email: str,
    name: str,
    role: str,
    password: str,
    key: uuid.UUID | None = None,
    request_hash: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
) -> User:
    """A new user in the caller's transaction; `key` and `request_hash` are the idempotency key
    of the form that asked and its request's fingerprint (see add_user). Logged as added by
    `actor_id`, or by an admin command when None."""
    email, name = email.strip(), name.strip()
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise StaffRefusal(
            gettext("%(email)s is not an email address.", email=repr(email)), "email"
        )
    try:
        name = checked_text(name, gettext("The name"), 120)  # the rules of every name in the shop
    except ValueError as unfit:
        raise StaffRefusal(str(unfit), "name") from None
    if not name:
        raise StaffRefusal(gettext("A name is 1 to 120 characters."), "name")
    if role not in ROLES:
        raise StaffRefusal(gettext("The role is owner or clerk."), "role")
    problem = password_problem(password)
    if problem:
        raise StaffRefusal(
            gettext("That password will not do: %(problem)s", problem=problem), "password"
        )
    taken = session.scalar(
        select(User.id).where(
            User.business_id == business_id, func.lower(User.email) == email.lower()
        )
    )
    if taken is not None:
        raise StaffRefusal(
            gettext("%(email)s already has an account in this business.", email=email), "email"
        )
    user = User(
        business_id=business_id,
        id=uuid.uuid4(),
        idempotency_key=key,
        request_hash=request_hash,
        email=email,
        name=name,
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    activity.record(
        session,
        kind="staff",
        summary=f"{name} added as {role} ({email})"
        + ("" if actor_id else f", by {activity.ADMIN_COMMAND}"),
        user_id=actor_id,
        after={"staff_id": user.id, "name": name, "email": email, "role": role, "active": True},
        business_id=business_id,
    )
    return user


def find_user(session: Session, business_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    return session.scalars(
        select(User)
        .where(User.business_id == business_id, User.id == user_id)
        .execution_options(populate_existing=True)
    ).one_or_none()


def user_with_key(session: Session, business_id: uuid.UUID, key: uuid.UUID) -> User | None:
    """The user a form's idempotency key made, if any."""
    return session.scalars(
        select(User).where(User.business_id == business_id, User.idempotency_key == key)
    ).one_or_none()


def add_user(
    session: Session,
    *,
    business_id: uuid.UUID,
    email: str,
    name: str,
    role: str,
    password: str,
    key: uuid.UUID,
    actor_id: uuid.UUID,
) -> tuple[User, bool]:
    """`create_user` as one committed unit, made once for the form's key: sent twice, made once
    (False: made before). A key that made someone else raises KeyReused (the password is not
    part of the fingerprint: it is never kept, even hashed this way); the same email added by
    someone else at the same moment is refused like a taken email."""
    request = fingerprint(email=email.strip().lower(), name=name.strip(), role=role)
    try:
        user, created = create_once(
            session,
            lambda: user_with_key(session, business_id, key),
            lambda: create_user(
                session,
                business_id=business_id,
                email=email,
                name=name,
                role=role,
                password=password,
                key=key,
                request_hash=request,
                actor_id=actor_id,
            ),
            request,
        )
    except IntegrityError as conflict:
        if not isinstance(conflict.orig, pg_errors.UniqueViolation):
            raise
        raise EmailTakenMeanwhile(
            gettext("%(email)s already has an account in this business.", email=email.strip()),
            "email",
        ) from None
    return user, created


@dataclass(frozen=True)
class Outcome:
    name: str
    changed: bool  # False when the user already was as asked (a form sent twice)
    session_version: int


LOCK_ACTIVE_OWNERS = text(
    """SELECT id FROM users
        WHERE business_id = :business_id AND role = 'owner' AND is_active
        ORDER BY id
          FOR UPDATE"""
)
LOCK_USER = text(
    """SELECT id, name, role, is_active, session_version FROM users
        WHERE business_id = :business_id AND id = :user_id
          FOR UPDATE"""
)


def _lock(
    session: Session, business_id: uuid.UUID, actor_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[list[uuid.UUID], Row[Any]]:
    """Lock the active owners (by id), then the user to change; check the actor still owns."""
    params = {"business_id": business_id}
    owners = list(session.scalars(LOCK_ACTIVE_OWNERS, params))
    if actor_id not in owners:
        raise NotAnOwner(gettext("Only an active owner can change staff accounts."))
    user = session.execute(LOCK_USER, {**params, "user_id": user_id}).one_or_none()
    if user is None:
        raise UserNotFound(gettext("There is no such user in this business."))
    return owners, user


def _is_last_owner(owners: list[uuid.UUID], user: Row[Any]) -> bool:
    return bool(user.role == "owner" and user.is_active and owners == [user.id])


def _update(
    session: Session,
    business_id: uuid.UUID,
    user_id: uuid.UUID,
    sets: str,
    *,
    ends_sessions: str | None = None,
    keep: uuid.UUID | None = None,
    **values: object,
) -> int:
    """Update the user; with `ends_sessions` (the reason), their session version goes up and
    their open sessions end, but `keep` (the actor's own, when they change themselves)."""
    if ends_sessions is not None:
        sets += ", session_version = session_version + 1"
    version: int = session.execute(
        text(
            f"""UPDATE users SET {sets}
                 WHERE business_id = :business_id AND id = :user_id
             RETURNING session_version"""
        ),
        {"business_id": business_id, "user_id": user_id, **values},
    ).scalar_one()
    if ends_sessions is not None:
        end_sessions(
            session,
            business_id=business_id,
            user_id=user_id,
            reason=ends_sessions,
            version=version,
            keep=keep,
        )
    return version


REVOKE_MAKERS_TOKENS = text(
    """UPDATE api_tokens
          SET revoked_at = now(), revoked_reason = 'maker_deactivated', revoked_by = :actor_id
        WHERE business_id = :business_id AND created_by = :user_id AND revoked_at IS NULL
    RETURNING id, name"""
)


def _log(
    session: Session,
    business_id: uuid.UUID,
    actor_id: uuid.UUID,
    user: Row[Any],
    summary: str,
    before: dict[str, object] | None,
    after: dict[str, object] | None,
) -> None:
    """A staff change in the activity log (never a password or its hash)."""
    activity.record(
        session,
        kind="staff",
        summary=summary,
        user_id=actor_id,
        before=None if before is None else {"staff_id": user.id, **before},
        after=None if after is None else {"staff_id": user.id, **after},
        business_id=business_id,
    )


@unit_of_work
def set_active(
    session: Session,
    *,
    business_id: uuid.UUID,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    active: bool,
) -> Outcome:
    owners, user = _lock(session, business_id, actor_id, user_id)
    if user.is_active == active:
        return Outcome(user.name, False, user.session_version)
    if not active:
        if _is_last_owner(owners, user):
            raise StaffRefusal(
                gettext(
                    "%(name)s is the only active owner; the shop needs at least "
                    "one. Make someone else an owner first.",
                    name=user.name,
                )
            )
        if user.id == actor_id:
            raise StaffRefusal(
                gettext("You cannot deactivate your own account. Ask another owner to do it.")
            )
        version = _update(
            session, business_id, user_id, "is_active = false", ends_sessions="deactivated"
        )
        _log(
            session,
            business_id,
            actor_id,
            user,
            f"{user.name} deactivated",
            {"active": True},
            {"active": False},
        )
        # For good: reactivating them later does not bring their tokens back.
        revoked = session.execute(
            REVOKE_MAKERS_TOKENS,
            {"business_id": business_id, "user_id": user_id, "actor_id": actor_id},
        )
        for token in revoked:
            activity.record(
                session,
                kind="api_token",
                summary=f"API token '{token.name}' revoked: its maker {user.name} was deactivated",
                user_id=actor_id,
                before={"token_id": token.id, "revoked": False},
                after={"token_id": token.id, "revoked": True},
                business_id=business_id,
            )
    else:
        version = _update(session, business_id, user_id, "is_active = true")
        _log(
            session,
            business_id,
            actor_id,
            user,
            f"{user.name} reactivated",
            {"active": False},
            {"active": True},
        )
    return Outcome(user.name, True, version)


@unit_of_work
def set_role(
    session: Session,
    *,
    business_id: uuid.UUID,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    actor_session: uuid.UUID | None = None,
) -> Outcome:
    """`actor_session`: the actor's own session, which goes on when they change their own role
    (their other sessions end)."""
    if role not in ROLES:
        raise StaffRefusal(gettext("Choose owner or clerk."), "role")
    owners, user = _lock(session, business_id, actor_id, user_id)
    if user.role == role:
        return Outcome(user.name, False, user.session_version)
    if role != "owner" and _is_last_owner(owners, user):
        if user.id == actor_id:
            message = gettext(
                "You are the only active owner; the shop needs at least one. "
                "Make someone else an owner first."
            )
        else:
            message = gettext(
                "%(name)s is the only active owner; the shop needs at least one. "
                "Make someone else an owner first.",
                name=user.name,
            )
        raise StaffRefusal(message, "role")
    version = _update(
        session,
        business_id,
        user_id,
        "role = :role",
        ends_sessions="role_changed",
        keep=actor_session if user_id == actor_id else None,
        role=role,
    )
    _log(
        session,
        business_id,
        actor_id,
        user,
        f"{user.name}: {user.role} → {role}",
        {"role": user.role},
        {"role": role},
    )
    return Outcome(user.name, True, version)


@unit_of_work
def reset_password(
    session: Session,
    *,
    business_id: uuid.UUID,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    password: str,
) -> Outcome:
    problem = password_problem(password)
    if problem:
        raise StaffRefusal(problem, "password")
    if user_id == actor_id:
        raise StaffRefusal(gettext("Change your own password on the Change password page."))
    password_hash = hash_password(password)  # before the locks: hashing takes a while
    _, user = _lock(session, business_id, actor_id, user_id)
    version = _update(
        session,
        business_id,
        user_id,
        "password_hash = :password_hash",
        ends_sessions="password_changed",
        password_hash=password_hash,
    )
    _log(session, business_id, actor_id, user, f"New password set for {user.name}", None, {})
    return Outcome(user.name, True, version)
