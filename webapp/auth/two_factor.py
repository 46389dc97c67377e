"""A second factor for signing in: time-based one-time codes (TOTP, RFC 6238: 30-second steps,
6 digits, HMAC-SHA-1, what authenticator apps expect) and ten one-time recovery codes.

The rules and every change of state; each change is one committed unit of work. The secret is
stored encrypted (AES-256-GCM, a key derived from SECRET_KEY; migration 0014 says why), the
recovery codes as SHA-256 hashes. A code is accepted for the 30-second step before, the one of
now and the one after (clocks drift), and only for a step later than the last one accepted,
so a code is never accepted twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from webapp.activity import log as activity
from webapp.db import unit_of_work
from webapp.models import RecoveryCode, User
from webapp.passwords import verify_password
from webapp.refusal import Refused

ISSUER = "ShopCredit"
STEP_SECONDS = 30  # pyotp.TOTP's defaults are RFC 6238's: 30 s, 6 digits, SHA-1
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 16  # 16 characters of 32: 80 random bits
# Crockford's base32: digits and lowercase letters without i, l, o and u, which are misread.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
SEALED_PREFIX = "v1:"

WRONG_CODE = lazy_gettext("That code is not right, or it was used already.")
TURN_OFF_REFUSED = lazy_gettext("That password and code do not match your account.")

TOTP_CODE = re.compile(r"[0-9]{6}")
RECOVERY_CODE = re.compile(f"[{RECOVERY_ALPHABET}]{{{RECOVERY_CODE_LENGTH}}}")


def now() -> float:
    """The time codes are checked at (tests move it)."""
    return time.time()


# --- The secret, encrypted at rest --------------------------------------------------------


def _cipher() -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"shopcredit two-factor secret v1",
    ).derive(str(current_app.config["SECRET_KEY"]).encode())
    return AESGCM(key)


def _associated(user: User) -> bytes:
    """What a sealed secret is bound to: copied onto another user's row, it does not open."""
    return f"{user.business_id}:{user.id}".encode()


def seal(user: User, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = _cipher().encrypt(nonce, secret.encode(), _associated(user))
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(user: User) -> str | None:
    """The user's TOTP secret, or None when there is none or it cannot be read (made under
    another SECRET_KEY, or not for this user)."""
    stored = user.totp_secret
    if not stored or not stored.startswith(SEALED_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(stored.removeprefix(SEALED_PREFIX))
        return _cipher().decrypt(raw[:12], raw[12:], _associated(user)).decode()
    except (InvalidTag, ValueError):
        return None


# --- Codes --------------------------------------------------------------------------------


def _current_step() -> int:
    return int(now()) // STEP_SECONDS


def _steps_matching(secret: str, code: str) -> list[int]:
    """The steps (previous, now, next) whose code is `code`, compared in constant time."""
    totp = pyotp.TOTP(secret)
    step = _current_step()
    return [
        candidate
        for candidate in (step - 1, step, step + 1)
        if hmac.compare_digest(totp.generate_otp(candidate), code)
    ]


def _typed_totp(typed: str) -> str | None:
    """Six ASCII digits, spaces allowed between (as apps show "123 456")."""
    code = "".join(typed.split())
    return code if TOTP_CODE.fullmatch(code) else None


def _typed_recovery_code(typed: str) -> str | None:
    """A recovery code as typed: any case, with or without its dashes and spaces, and an o, i
    or l read as 0, 1 and 1."""
    code = re.sub(r"[\s-]", "", typed.strip().lower()).translate(str.maketrans("oil", "011"))
    return code if RECOVERY_CODE.fullmatch(code) else None


def _recovery_hash(user: User, code: str) -> str:
    return hashlib.sha256(f"{user.id}:{code}".encode()).hexdigest()


def _shown(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def secret_for_typing(secret: str) -> str:
    """The secret in groups of four, as it is easiest to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@dataclass(frozen=True)
class Enrolment:
    """What the setup page shows: the secret as text, and as an otpauth:// URI in a QR code."""

    secret: str
    uri: str
    qr_data_uri: str

    @property
    def secret_grouped(self) -> str:
        return secret_for_typing(self.secret)


def enrolment(user: User) -> Enrolment | None:
    """The secret being set up (None when there is none, or it is on already)."""
    secret = unseal(user) if not user.has_two_factor else None
    if secret is None:
        return None
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=f"{user.email} ({user.business.slug})", issuer_name=ISSUER
    )
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")
    return Enrolment(secret, uri, qr)


def must_set_up(user: User) -> bool:
    """An owner of a shop that requires a second factor, without one: to set it up first."""
    return user.is_owner and user.business.owners_need_two_factor and not user.has_two_factor


def recovery_codes_left(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(
                RecoveryCode.business_id == user.business_id,
                RecoveryCode.user_id == user.id,
                RecoveryCode.used_at.is_(None),
                RecoveryCode.discarded_at.is_(None),
            )
        )
        or 0
    )


# --- Changes of state ---------------------------------------------------------------------

LOCK_USER = text(
    "SELECT 1 FROM users WHERE business_id = :business_id AND id = :user_id FOR NO KEY UPDATE"
)
# A step is claimed once: two requests with the same code at the same moment, one wins.
CLAIM_STEP = text(
    """UPDATE users SET totp_last_step = :step
        WHERE business_id = :business_id AND id = :user_id AND totp_enabled_at IS NOT NULL
          AND (totp_last_step IS NULL OR totp_last_step < :step)
    RETURNING id"""
)
USE_RECOVERY_CODE = text(
    """UPDATE recovery_codes SET used_at = now()
        WHERE business_id = :business_id AND user_id = :user_id AND code_hash = :code_hash
          AND used_at IS NULL AND discarded_at IS NULL
    RETURNING id"""
)
DISCARD_RECOVERY_CODES = text(
    """UPDATE recovery_codes SET discarded_at = now()
        WHERE business_id = :business_id AND user_id = :user_id
          AND used_at IS NULL AND discarded_at IS NULL"""
)


def _ids(user: User) -> dict[str, object]:
    return {"business_id": user.business_id, "user_id": user.id}


def _lock(session: Session, user: User) -> None:
    """Take the user's row, and read it again as it is now (another request may have changed
    it since this one loaded it)."""
    session.execute(LOCK_USER, _ids(user))
    session.refresh(user)


def _make_recovery_codes(session: Session, user: User) -> list[str]:
    """Ten new recovery codes for the user; those not used yet are retired."""
    session.execute(DISCARD_RECOVERY_CODES, _ids(user))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    session.add_all(
        RecoveryCode(
            business_id=user.business_id, user_id=user.id, code_hash=_recovery_hash(user, c)
        )
        for c in codes
    )
    session.flush()
    return [_shown(code) for code in codes]


def _accept(session: Session, user: User, typed: str) -> str | None:
    """Use a code of a user whose second factor is on: "code" (from the app) or "recovery" (a
    recovery code, now used up); None when it is neither, or was used already. In the caller's
    transaction."""
    if not user.has_two_factor:
        return None
    code = _typed_totp(typed)
    if code is not None:
        secret = unseal(user)
        for step in _steps_matching(secret, code) if secret else []:
            if session.execute(CLAIM_STEP, {**_ids(user), "step": step}).first():
                session.expire(user, ["totp_last_step"])
                return "code"
        return None
    recovery = _typed_recovery_code(typed)
    if recovery is not None:
        params = {**_ids(user), "code_hash": _recovery_hash(user, recovery)}
        if session.execute(USE_RECOVERY_CODE, params).first():
            return "recovery"
    return None


@unit_of_work
def start_setup(session: Session, user: User) -> None:
    """A new secret for the user to add to an authenticator app; it counts once confirmed."""
    _lock(session, user)
    if user.has_two_factor:
        raise Refused(gettext("Your second factor is on already."))
    user.totp_secret = seal(user, pyotp.random_base32())
    user.totp_last_step = None


@unit_of_work
def confirm_setup(session: Session, user: User, typed: str) -> list[str]:
    """Turn the second factor on with a code from the app for the secret being set up; the new
    recovery codes (shown once). Refused: field `code`, or none (nothing being set up)."""
    _lock(session, user)
    if user.has_two_factor:
        raise Refused(gettext("Your second factor is on already."))
    secret = unseal(user)
    if secret is None:
        raise Refused(gettext("Start the setup again: there is no secret being set up."))
    code = _typed_totp(typed)
    steps = _steps_matching(secret, code) if code else []
    if not steps:
        raise Refused(
            gettext(
                "That code is not right. Enter the 6 digits your app shows now for ShopCredit."
            ),
            "code",
        )
    user.totp_enabled_at = datetime.now(UTC)
    user.totp_last_step = max(steps)
    return _make_recovery_codes(session, user)


@dataclass(frozen=True)
class SignInCheck:
    recovery_code_used: bool
    recovery_codes_left: int


@unit_of_work
def check_sign_in(session: Session, user: User, typed: str) -> SignInCheck:
    """The second step of signing in: a code from the app, or a recovery code (used up).
    Refused: WRONG_CODE, whatever was wrong with it."""
    used = _accept(session, user, typed)
    if used is None:
        raise Refused(WRONG_CODE, "code")
    return SignInCheck(used == "recovery", recovery_codes_left(session, user))


def _clear(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(DISCARD_RECOVERY_CODES, _ids(user))


@unit_of_work
def turn_off(session: Session, user: User, password: str, typed: str) -> None:
    """Turn the user's second factor off: their password and a code (or a recovery code) are
    needed. Refused: TURN_OFF_REFUSED, without saying which was wrong."""
    right_password = verify_password(user.password_hash, password)
    _lock(session, user)
    if not user.has_two_factor:
        raise Refused(gettext("Your second factor is off already."))
    if not right_password or _accept(session, user, typed) is None:
        raise Refused(TURN_OFF_REFUSED)
    _clear(session, user)


@unit_of_work
def renew_recovery_codes(session: Session, user: User, typed: str) -> list[str]:
    """Ten new recovery codes, for a code from the app (or a recovery code); the unused ones
    stop working. Refused: field `code`."""
    _lock(session, user)
    if _accept(session, user, typed) is None:
        raise Refused(WRONG_CODE, "code")
    return _make_recovery_codes(session, user)


def reset(session: Session, user: User) -> None:
    """An admin's way out for someone who lost both their phone and their recovery codes: the
    second factor off, in the caller's transaction (an admin command's), and in the activity
    log: the owners see that someone's second factor was taken off behind them."""
    _clear(session, user)
    activity.record(
        session,
        kind="staff",
        summary=f"Second factor of {user.name} turned off, by {activity.ADMIN_COMMAND}",
        user_id=None,
        before={"staff_id": user.id, "two_factor": True},
        after={"staff_id": user.id, "two_factor": False},
        business_id=user.business_id,
    )
