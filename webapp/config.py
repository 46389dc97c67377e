"""Settings from the environment.

Every setting can be given as SHOPCREDIT_<NAME>; the database URLs and the secret key may also
be given plainly (DATABASE_URL, DATABASE_ADMIN_URL, DATABASE_REPLICA_URL, SECRET_KEY), as hosting
platforms do.
With no DATABASE_URL at all, ShopCredit runs on an embedded PostgreSQL under instance/.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any

PLAIN_NAMES = ("DATABASE_URL", "DATABASE_ADMIN_URL", "DATABASE_REPLICA_URL", "SECRET_KEY")


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


def _whole(environ: Mapping[str, str], name: str, default: int) -> int:
    value = _read(environ, name)
    if value is None:
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError(f"SHOPCREDIT_{name} must be a whole number from 1 up, not {value!r}.")
    return int(value)


def _workers_option(args: Sequence[str]) -> int | None:
    """The worker count a gunicorn command line gives (-w N, --workers N, --workers=N)."""
    found = None
    for index, arg in enumerate(args):
        value = None
        if arg in ("-w", "--workers") and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--workers="):
            value = arg.partition("=")[2]
        elif arg.startswith("-w") and arg[2:].isdigit():
            value = arg[2:]
        if value is not None and value.strip().isdigit():
            found = int(value)
    return found


def worker_count(environ: Mapping[str, str], argv: Sequence[str]) -> int:
    """How many worker processes serve this app, as far as the environment says:
    SHOPCREDIT_WORKERS; else gunicorn's own settings: --workers in GUNICORN_CMD_ARGS or on its
    command line (when this process is gunicorn), else WEB_CONCURRENCY; else 1. (A count set
    only in a gunicorn config file is not seen: set SHOPCREDIT_WORKERS too.)"""
    explicit = _read(environ, "WORKERS")
    if explicit is not None and explicit.strip().isdigit():
        return int(explicit)
    from_args = _workers_option(shlex.split(environ.get("GUNICORN_CMD_ARGS", "")))
    if argv and "gunicorn" in argv[0]:  # gunicorn, or python -m gunicorn
        from_args = _workers_option(argv[1:]) or from_args
    if from_args is not None:
        return from_args
    concurrency = environ.get("WEB_CONCURRENCY", "").strip()
    return int(concurrency) if concurrency.isdigit() else 1


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
        # A read-only copy (a streaming replica) for the pages and API GETs that only read.
        "DATABASE_REPLICA_URL": None if embedded else _read(environ, "DATABASE_REPLICA_URL"),
        "SECRET_KEY": secret_key,
        "INSTANCE_PATH": _read(environ, "INSTANCE_PATH"),
        # Plain http on 127.0.0.1 in embedded (development) mode; https everywhere else.
        "SESSION_COOKIE_SECURE": _flag(_read(environ, "COOKIE_SECURE"), default=not embedded),
        "RATELIMIT_STORAGE_URI": _read(environ, "RATELIMIT_STORAGE_URI") or "memory://",
        # Failed sign-ins before a wait (auth/throttle.py), and the first wait in seconds.
        "LOGIN_FAILURES_PER_ACCOUNT_ADDRESS": _whole(
            environ, "LOGIN_FAILURES_PER_ACCOUNT_ADDRESS", 5
        ),
        "LOGIN_FAILURES_PER_ADDRESS": _whole(environ, "LOGIN_FAILURES_PER_ADDRESS", 30),
        "LOGIN_FAILURES_PER_ACCOUNT": _whole(environ, "LOGIN_FAILURES_PER_ACCOUNT", 20),
        "LOGIN_LOCK_SECONDS": _whole(environ, "LOGIN_LOCK_SECONDS", 60),
        # Guesses at one's own password when signed in (change it, confirm it's you).
        "PASSWORD_CHECK_LIMIT": _read(environ, "PASSWORD_CHECK_LIMIT") or "5 per minute",
        "WORKERS": worker_count(environ, sys.argv),
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
