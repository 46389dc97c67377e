"""/healthz: the process answers (a restart is what would help otherwise). /readyz: it can
serve now, so a load balancer sends it requests: the database answers and takes writes, Redis
answers (when the rate limits are counted there), the database has every migration this release
ships, and no drain was asked for.

Draining: while SHOPCREDIT_DRAIN_FILE exists, /readyz answers 503 "draining" and everything else
is served as usual; the load balancer stops sending requests, and then SIGTERM lets gunicorn
finish the requests in flight and exit.

The body says which check failed in a word; what exactly went wrong is in the log (a readiness
probe is not signed in, so it is told no more than that).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response

from webapp import migrate
from webapp.db import get_db, sqlstate
from webapp.extensions import limiter
from webapp.serving import logs

log = logging.getLogger(__name__)

UNDEFINED_FUNCTION = "42883"
# In one round trip: a replica or a read-only default (default_transaction_read_only) answers
# "on", and so does a primary that is shutting down to become one.
WRITABLE = text(
    "SELECT current_setting('transaction_read_only') = 'off' AND NOT pg_is_in_recovery()"
)
APPLIED = text("SELECT kind, name, checksum FROM applied_schema()")


def health() -> tuple[str, int]:
    return "ok", 200


def _database() -> tuple[str, list[str]]:
    """(state, details) of the database: ok, read-only, unreachable or not migrated."""
    try:
        with get_db().engine.connect() as conn:
            writable = conn.execute(WRITABLE).scalar_one()
            try:
                applied = [tuple(row) for row in conn.execute(APPLIED)]
            except DBAPIError as error:
                if sqlstate(error) != UNDEFINED_FUNCTION:
                    raise
                return "not migrated", ["applied_schema() is missing: run db upgrade"]
    except DBAPIError as error:
        return "unreachable", [logs.describe(error)]
    if not writable:
        return "read-only", ["the database is read-only (a replica, or read-only by default)"]
    problems = migrate.readiness_problems(applied)
    if problems:
        return "not migrated", problems
    changed = migrate.changed_functions(applied)
    return "ok", [f"function file {name} was applied from another release" for name in changed]


def _redis() -> tuple[str, list[str]]:
    # The shared storage of the rate limits (a Redis in the README; any other the limits
    # library speaks is checked the same way).
    if str(current_app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        return "not used", []
    try:
        answered = limiter.storage.check()
    except Exception as error:  # whatever the client raised: Redis does not answer
        return "unreachable", [logs.describe(error)]
    return ("ok", []) if answered else ("unreachable", ["no answer to PING"])


def readiness() -> Response:
    checks: dict[str, Any] = {}
    details: dict[str, list[str]] = {}
    drain_file = current_app.config.get("DRAIN_FILE")
    draining = bool(drain_file) and os.path.exists(str(drain_file))
    checks["drain"] = "draining" if draining else "no"
    checks["database"], details["database"] = _database()
    checks["redis"], details["redis"] = _redis()
    ready = not draining and checks["database"] == "ok" and checks["redis"] in ("ok", "not used")
    if not ready:
        found = {name: problems for name, problems in details.items() if problems}
        logs.event(log, "not_ready", logging.WARNING, checks=checks, details=found)
    response = jsonify({"status": "ready" if ready else "not ready", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


def init_app(app: Flask) -> None:
    app.add_url_rule("/healthz", "health", health)
    app.add_url_rule("/readyz", "readiness", readiness)
