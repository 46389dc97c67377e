"""Settings from the environment.

Every setting can be given as SHOPCREDIT_<NAME>; the three a deployment always sets may also
be given plainly (DATABASE_URL, DATABASE_ADMIN_URL, SECRET_KEY), as hosting platforms do.

With no database setting at all (`make run`, `make test`), ShopCredit runs on an embedded
PostgreSQL under instance/. Any database setting means that database and only that one: what
a command needs and was not given is refused in one sentence (`require`), never filled in from
elsewhere.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PLAIN_NAMES = ("DATABASE_URL", "DATABASE_ADMIN_URL", "DATABASE_REPLICA_URL", "SECRET_KEY")
# Any one of these, plainly or as SHOPCREDIT_<NAME>, means "not the embedded database".
DATABASE_SETTINGS = ("DATABASE_URL", "DATABASE_ADMIN_URL", "DATABASE_REPLICA_URL")

# What each setting is for, said when a command needs one that is not set.
NEEDED_FOR = {
    "DATABASE_URL": (
        "the app serves pages as the restricted app role: set DATABASE_URL to that role's URL "
        "(DATABASE_ADMIN_URL is only for migrations and admin commands)"
    ),
    "DATABASE_ADMIN_URL": (
        "migrations and admin commands run as the role that owns the tables: set "
        "DATABASE_ADMIN_URL to that role's URL"
    ),
    "SECRET_KEY": (
        "ShopCredit will not serve an external database without a secret key (set SECRET_KEY "
        "to a long random string)"
    ),
}


class ConfigError(RuntimeError):
    """The environment does not describe a deployment ShopCredit can start."""


def require(config: Mapping[str, Any], name: str) -> str:
    """The setting `name` (DATABASE_URL, DATABASE_ADMIN_URL, SECRET_KEY), or one sentence
    saying that it is missing and what it is for."""
    value = config.get(name)
    if not value:
        raise ConfigError(f"{name} is not set: {NEEDED_FOR[name]}.")
    return str(value)


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


def _proxy_addresses(environ: Mapping[str, str]) -> tuple[Network, ...]:
    """The addresses (or networks) the nearest proxy connects from: only their X-Forwarded-*
    headers are believed. Like gunicorn's forwarded_allow_ips, the local machine by default."""
    value = _read(environ, "PROXY_ADDRESSES") or "127.0.0.1,::1"
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in value.split(",")
            if part.strip()
        )
    except ValueError:
        raise ConfigError(
            "SHOPCREDIT_PROXY_ADDRESSES must be IP addresses or networks separated by commas "
            f"(such as 127.0.0.1,10.0.0.0/8), not {value!r}."
        ) from None


# A metrics token shorter than this could be guessed: the endpoint says a lot about the shops.
METRICS_TOKEN_MIN_LENGTH = 32


def _metrics_token(environ: Mapping[str, str]) -> str | None:
    token = _read(environ, "METRICS_TOKEN")
    if token is not None and len(token.strip()) < METRICS_TOKEN_MIN_LENGTH:
        raise ConfigError(
            f"SHOPCREDIT_METRICS_TOKEN must be at least {METRICS_TOKEN_MIN_LENGTH} characters "
            "(for example the output of `python -c 'import secrets; print(secrets.token_hex())'`)."
        )
    return token.strip() if token else None


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
    only in a gunicorn config file is not seen; the repository's gunicorn.conf.py passes
    gunicorn's own count on as SHOPCREDIT_WORKERS.)"""
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
    embedded = not any(
        environ.get(name) or environ.get(f"SHOPCREDIT_{name}") for name in DATABASE_SETTINGS
    )
    return {
        "EMBEDDED_DATABASE": embedded,
        # The app role, for pages and the API; required to serve (`require`).
        "DATABASE_URL": _read(environ, "DATABASE_URL"),
        # The table owner, for migrations and admin commands only; never taken from
        # DATABASE_URL (the app role cannot migrate, and must not own the tables).
        "DATABASE_ADMIN_URL": _read(environ, "DATABASE_ADMIN_URL"),
        "SECRET_KEY": _read(environ, "SECRET_KEY"),
        # A read-only copy (a streaming replica) for the pages and API GETs that only read.
        "DATABASE_REPLICA_URL": None if embedded else _read(environ, "DATABASE_REPLICA_URL"),
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
        # How often one address may open shared statements (/s/<token>; flask-limiter's words).
        "STATEMENT_LINK_LIMIT": _read(environ, "STATEMENT_LINK_LIMIT") or "60 per minute",
        "WORKERS": worker_count(environ, sys.argv),
        "TRUSTED_PROXIES": int(_read(environ, "TRUSTED_PROXIES") or 0),
        "PROXY_ADDRESSES": _proxy_addresses(environ),
        # While this file exists /readyz answers 503, so load balancers stop sending requests.
        "DRAIN_FILE": _read(environ, "DRAIN_FILE"),
        "METRICS_TOKEN": _metrics_token(environ),
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
    # Flask-WTF's https check wants a Referer naming the Host the app sees: browsers may send
    # none, and a proxy may not pass the public Host. The token stays; webapp/same_origin.py
    # replaces that check with what the browser says (Sec-Fetch-Site, else Origin).
    "WTF_CSRF_SSL_STRICT": False,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,  # CSV imports included
    "RATELIMIT_HEADERS_ENABLED": False,
    "CHECK_DATABASE_ROLE": True,
}
