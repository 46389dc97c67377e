"""Each request: its id, and one log line and its metrics when it is answered."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request
from werkzeug.wrappers import Response

from webapp.serving import logs, metrics

log = logging.getLogger("webapp.request")

REQUEST_ID_HEADER = "X-Request-ID"
ENVIRON_PREFIX = "shopcredit."  # read by gunicorn's access line (webapp/serving/gunicorn.py)
# An id a proxy or client sent is kept only when it cannot confuse a reader of the log.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def start() -> None:
    """before_request, first of all: nothing before it can leave a request without an id."""
    g.request_started = time.perf_counter()
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = sent if SANE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


def finish(response: Response) -> Response:
    """after_request, last of all: the status is final."""
    if "request_id" not in g:  # an error before start() ran
        start()
    seconds = time.perf_counter() - g.request_started
    response.headers[REQUEST_ID_HEADER] = g.request_id
    status = response.status_code
    fields = logs.request_fields()
    for key in ("request_id", "business_id", "user_id"):  # for gunicorn's access line
        request.environ[ENVIRON_PREFIX + key] = fields[key]
    logs.event(
        log,
        "request",
        logging.ERROR if status >= 500 else logging.INFO,
        status=status,
        duration_ms=round(seconds * 1000, 1),
        endpoint=request.endpoint,
        address=request.remote_addr,
    )
    metrics.observe_request(request.endpoint, request.method, status, seconds)
    return response


def init_app(app: Flask) -> None:
    app.before_request(start)
    app.after_request(finish)
