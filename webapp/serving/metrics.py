"""Prometheus metrics at /metrics, for the bearer token in SHOPCREDIT_METRICS_TOKEN only.

Under gunicorn each worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py
sets it, and empties it at start) every worker writes its values to files there and a scrape,
whichever worker answers it, adds up all of them (prometheus_client's multiprocess mode). Without
it (the development server, tests) the values are this process's.

Labels are bounded: the Flask endpoint (never the raw path, which holds ids), the method, the
status; the ledger function and its outcome; a refusal's reason.
"""

from __future__ import annotations

import hmac
import os
import re
from typing import Any

from flask import Flask, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "shopcredit_http_request_duration_seconds",
    "Time to answer a request, per Flask endpoint",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REQUESTS = Counter(
    "shopcredit_http_requests",
    "Requests answered, per Flask endpoint and status",
    ["endpoint", "method", "status"],
)
LEDGER = Counter(
    "shopcredit_ledger_calls",
    "Ledger function calls by outcome: recorded, replayed (a known idempotency key), refused",
    ["function", "outcome", "reason"],
)
LEDGER_RETRIES = Counter(
    "shopcredit_ledger_retries",
    "Ledger calls run again after a deadlock, serialization failure or key race",
    ["function", "sqlstate"],
)
SIGN_IN_FAILURES = Counter(
    "shopcredit_sign_in_failures",
    "Failed sign-ins: a wrong password, a wrong second-factor code, or an address made to wait",
    ["reason"],
)
# livesum: each worker's own count of checked-out connections, added up over live workers.
POOL_IN_USE = Gauge(
    "shopcredit_db_pool_connections_in_use",
    "Database connections checked out of the app's pools",
    ["pool"],
    multiprocess_mode="livesum",
)


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    name = endpoint or "none"  # no route matched: one label for every unknown path
    REQUEST_SECONDS.labels(name, method).observe(seconds)
    REQUESTS.labels(name, method, str(status)).inc()


def snake(name: str) -> str:
    """A refusal's class name as a label: InsufficientStock → insufficient_stock."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def ledger_outcome(function: str, outcome: str, reason: str = "") -> None:
    LEDGER.labels(function, outcome, reason).inc()


def ledger_retry(function: str, sqlstate: str | None) -> None:
    LEDGER_RETRIES.labels(function, sqlstate or "").inc()


def sign_in_failed(reason: str) -> None:
    SIGN_IN_FAILURES.labels(reason).inc()


def watch_pool(engine: Engine, name: str) -> None:
    """Count the engine's checked-out connections in POOL_IN_USE."""
    gauge = POOL_IN_USE.labels(name)

    def checked_out(*_: Any) -> None:
        gauge.inc()

    def checked_in(*_: Any) -> None:
        gauge.dec()

    # On the engine, not its pool: the listeners stay when the pool is recreated (dispose()).
    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "checkin", checked_in)


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def _authorized() -> bool:
    expected = str(current_app.config["METRICS_TOKEN"])
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # Compared in constant time, as bytes: how long a wrong token took says nothing.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


def metrics_view() -> Response:
    if not current_app.config.get("METRICS_TOKEN"):
        raise NotFound()  # not configured: there is no such page
    if not _authorized():
        response = Response("send Authorization: Bearer <SHOPCREDIT_METRICS_TOKEN>\n", 401)
        response.headers["WWW-Authenticate"] = "Bearer"
        response.mimetype = "text/plain"
        return response
    return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.add_url_rule("/metrics", "metrics", metrics_view)
