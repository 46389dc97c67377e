"""Password hashing with argon2id (argon2-cffi's RFC 9106 profile; the cheapest one in tests)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app
from flask_babel import gettext

EXTENSION_KEY = "shopcredit.passwords"
DUMMY_HASH_KEY = "shopcredit.passwords.dummy"
MIN_LENGTH = 8


def make_hasher(profile_name: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(getattr(profiles, profile_name))


def init_app(app: Flask) -> None:
    hasher = make_hasher(app.config["PASSWORD_HASH_PROFILE"])
    app.extensions[EXTENSION_KEY] = hasher
    app.extensions[DUMMY_HASH_KEY] = hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> PasswordHasher:
    hasher: PasswordHasher = current_app.extensions[EXTENSION_KEY]
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no account (None) do the same work, so timing reveals nothing."""
    extensions = current_app.extensions
    try:
        matches = _hasher().verify(password_hash or extensions[DUMMY_HASH_KEY], password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older parameters than the ones in force."""
    return _hasher().check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, in the user's terms (None when it is fine)."""
    if len(password) < MIN_LENGTH:
        return gettext("Use at least %(min_length)s characters.", min_length=MIN_LENGTH)
    if len(password) > 200:
        return gettext("Use at most 200 characters.")
    return None
