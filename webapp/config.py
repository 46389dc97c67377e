"""Settings from the environment.

Every setting can be given as SHOPCREDIT_<NAME>; the three a deployment always sets may also
be given plainly (DATABASE_URL, DATABASE_ADMIN_URL, SECRET_KEY), as hosting platforms do.
With no DATABASE_URL at all, ShopCredit runs on an embedded PostgreSQL under instance/.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PLAIN_NAMES = ("DATABASE_URL", "DATABASE_ADMIN_URL", "SECRET_KEY")


class ConfigError(RuntimeError):
    """The environment does not describe a deployment ShopCredit can start."""


def _read(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(f"SHOPCREDIT_{name}")
    if value is None and name in PLAIN_NAMES:
        value = environ.get(name)
    return value or None


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """Flask config values for this environment; the embedded database fills in the rest."""
    database_url = _read(environ, "DATABASE_URL")
    embedded = database_url is None
    secret_key = _read(environ, "SECRET_KEY")
    if not embedded and secret_key is None:
        raise ConfigError(
            "SECRET_KEY is not set: ShopCredit will not start against an external database "
            "without a secret key (set SECRET_KEY to a long random string)."
        )
    return {
        "EMBEDDED_DATABASE": embedded,
        "DATABASE_URL": database_url,
        # Migrations and admin commands need the table owner; the app never uses it for requests.
        "DATABASE_ADMIN_URL": _read(environ, "DATABASE_ADMIN_URL") or database_url,
        "SECRET_KEY": secret_key,
        "INSTANCE_PATH": _read(environ, "INSTANCE_PATH"),
        # Plain http on 127.0.0.1 in embedded (development) mode; https everywhere else.
        "SESSION_COOKIE_SECURE": _flag(_read(environ, "COOKIE_SECURE"), default=not embedded),
        "RATELIMIT_STORAGE_URI": _read(environ, "RATELIMIT_STORAGE_URI") or "memory://",
        "LOGIN_LIMIT_PER_IP": _read(environ, "LOGIN_LIMIT_PER_IP") or "30 per minute",
        "LOGIN_LIMIT_PER_ACCOUNT": _read(environ, "LOGIN_LIMIT_PER_ACCOUNT") or "5 per minute",
        "TRUSTED_PROXIES": int(_read(environ, "TRUSTED_PROXIES") or 0),
        "LOCALE": _read(environ, "LOCALE") or "en",
        "PASSWORD_HASH_PROFILE": _read(environ, "PASSWORD_HASH_PROFILE") or "RFC_9106_LOW_MEMORY",
    }


DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "shopcredit_session",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,  # one working day
    "WTF_CSRF_TIME_LIMIT": 60 * 60 * 12,  # a sale form left open all day still posts
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,  # CSV imports included
    "RATELIMIT_HEADERS_ENABLED": False,
    "CHECK_DATABASE_ROLE": True,
}
