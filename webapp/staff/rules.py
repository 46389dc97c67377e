"""Changing staff accounts under the one rule that needs a lock: a business always keeps at least
one active owner.

Every change here first locks the business's active owner rows (one statement, ordered by id, so
two owners acting at once queue in the same order and never deadlock) and only then counts
them. Two owners demoting each other at the same moment are therefore serialised: the second
one finds, after the wait, that it is no longer an owner (or that the other is the last one),
and is refused. Deactivation, a role change and a password reset bump the user's
`session_version`, which ends their open sessions at their next request (auth.access.load_user).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from webapp.accounts import ROLES
from webapp.passwords import hash_password, password_problem


class StaffRefusal(Exception):
    """The change is not allowed; the message says why, in the owner's words."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAnOwner(StaffRefusal):
    """The one acting is no longer an active owner (demoted or deactivated meanwhile)."""


class UserNotFound(StaffRefusal):
    """No such user in this business (another business's id included)."""


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
) -> tuple[list[uuid.UUID], Row]:
    """Lock the active owners (by id), then the user to change; check the actor still owns."""
    params = {"business_id": business_id}
    owners = list(session.scalars(LOCK_ACTIVE_OWNERS, params))
    if actor_id not in owners:
        raise NotAnOwner("Only an active owner can change staff accounts.")
    user = session.execute(LOCK_USER, {**params, "user_id": user_id}).one_or_none()
    if user is None:
        raise UserNotFound("There is no such user in this business.")
    return owners, user


def _is_last_owner(owners: list[uuid.UUID], user: Row) -> bool:
    return user.role == "owner" and user.is_active and owners == [user.id]


def _update(
    session: Session, business_id: uuid.UUID, user_id: uuid.UUID, sets: str, **values: object
) -> int:
    return session.execute(
        text(
            f"""UPDATE users SET {sets}
                 WHERE business_id = :business_id AND id = :user_id
             RETURNING session_version"""
        ),
        {"business_id": business_id, "user_id": user_id, **values},
    ).scalar_one()


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
                f"{user.name} is the only active owner; the shop needs at least one. "
                "Make someone else an owner first."
            )
        if user.id == actor_id:
            raise StaffRefusal(
                "You cannot deactivate your own account. Ask another owner to do it."
            )
        version = _update(
            session,
            business_id,
            user_id,
            "is_active = false, session_version = session_version + 1",
        )
    else:
        version = _update(session, business_id, user_id, "is_active = true")
    return Outcome(user.name, True, version)


def set_role(
    session: Session,
    *,
    business_id: uuid.UUID,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
) -> Outcome:
    if role not in ROLES:
        raise StaffRefusal("Choose owner or clerk.", "role")
    owners, user = _lock(session, business_id, actor_id, user_id)
    if user.role == role:
        return Outcome(user.name, False, user.session_version)
    if role != "owner" and _is_last_owner(owners, user):
        who = "You are" if user.id == actor_id else f"{user.name} is"
        raise StaffRefusal(
            f"{who} the only active owner; the shop needs at least one. "
            "Make someone else an owner first.",
            "role",
        )
    version = _update(
        session,
        business_id,
        user_id,
        "role = :role, session_version = session_version + 1",
        role=role,
    )
    return Outcome(user.name, True, version)


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
        raise StaffRefusal("Change your own password on the Change password page.")
    password_hash = hash_password(password)  # before the locks: hashing takes a while
    _, user = _lock(session, business_id, actor_id, user_id)
    version = _update(
        session,
        business_id,
        user_id,
        "password_hash = :password_hash, session_version = session_version + 1",
        password_hash=password_hash,
    )
    return Outcome(user.name, True, version)
