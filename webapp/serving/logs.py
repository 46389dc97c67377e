"""JSON log lines: one object a line on stderr, for a log shipper to read as it is.

Every line has `ts` (UTC, milliseconds), `level` and `event`; a line written while a request is
handled also has its `request_id`, `method`, `path` (never the query string, which may hold a
searched name or phone), `business_id` and `user_id`. `event(...)` adds named fields.

An error's traceback is written without anything the database was sent or said about a row:
SQLAlchemy's engines hide bound parameters (`hide_parameters`, webapp/db.py), and a database
error is described by its SQLSTATE, its condition and the names of the constraint, table and
column, never by its DETAIL ("Failing row contains (…, Ada, +254…)") nor by a data exception's
message, which quotes the value it refused.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Flask, g, has_request_context, request
from sqlalchemy.exc import StatementError

LOGGER_NAME = "webapp"
# SQLSTATE classes whose primary message names objects, never values: connection, integrity
# (the constraint), transaction state, serialization, syntax and access, resources, locks,
# operator intervention, system errors. Others (22: data exceptions) quote what they refused.
SAFE_MESSAGE_CLASSES = frozenset({"08", "23", "25", "40", "42", "53", "54", "55", "57", "58"})
LONGEST_TEXT = 500


def event(
    logger: logging.Logger,
    name: str,
    level: int = logging.INFO,
    exc_info: BaseException | None = None,
    **fields: Any,
) -> None:
    """Log one event: `name` is the line's `event`, `fields` its other keys."""
    logger.log(level, name, exc_info=exc_info, extra={"event": name, "fields": fields})


def who() -> tuple[str | None, str | None]:
    """(business_id, user_id) of the request: the signed-in user Flask-Login loaded, or the API
    token's maker. Never loads either (a log line must not query the database)."""
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.business_id), str(user.id)
    token = g.get("token")
    if token is not None:
        return str(token.business_id), str(token.user_id)
    return None, None


def request_fields() -> dict[str, Any]:
    if not has_request_context():
        return {}
    business_id, user_id = who()
    return {
        "request_id": g.get("request_id"),
        "method": request.method,
        "path": request.path[:LONGEST_TEXT],
        "business_id": business_id,
        "user_id": user_id,
    }


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe(error: BaseException) -> str:
    """What an exception says, without values a database error would quote."""
    if isinstance(error, StatementError):
        statement = " ".join(str(error.statement or "").split())[:LONGEST_TEXT]
        cause = f"{type(error.orig).__name__}: {describe(error.orig)}" if error.orig else "error"
        return f"{cause} [SQL: {statement}]"
    diag = getattr(error, "diag", None)
    if diag is not None:  # a psycopg error
        state = getattr(error, "sqlstate", None)
        parts = [f"SQLSTATE {state}"] if state else []
        if state is None:  # raised by the driver itself (a lost connection): no row in it
            parts.append((str(error).splitlines() or [type(error).__name__])[0])
        elif state[:2] in SAFE_MESSAGE_CLASSES:
            parts.append(str(diag.message_primary))
        for name in ("constraint_name", "table_name", "column_name"):
            value = getattr(diag, name, None)
            if value:
                parts.append(f"{name.split('_')[0]} {value}")
        return "; ".join(parts)[:LONGEST_TEXT]
    return str(error)[:LONGEST_TEXT]


def safe_traceback(error: BaseException) -> str:
    """The traceback Python would print (frames, then each exception of the chain), with each
    exception's text from `describe`."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    lines: list[str] = []
    for exc in reversed(chain):
        if lines:
            lines.append("\nThe above exception led to:\n\n")
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
        kind = type(exc)
        lines.append(f"{kind.__module__}.{kind.__qualname__}: {describe(exc)}\n")
    return "".join(lines)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", None) or "log",
        }
        if not hasattr(record, "event"):  # a plain log call, ours or a library's
            entry["logger"] = record.name
            entry["message"] = record.getMessage()[: LONGEST_TEXT * 4]
        entry.update(request_fields())
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error"] = f"{type(error).__name__}: {describe(error)}"
            entry["traceback"] = safe_traceback(error)
        # JSON escapes newlines and control characters: nothing logged can forge a line.
        return json.dumps(entry, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is written (a test's capture included)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def init_app(app: Flask) -> None:
    """JSON lines from the app's loggers (`webapp.*`), at INFO; set up once per process."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(handler, StderrHandler) for handler in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if app.debug else logging.INFO)
