"""Error pages in the app's look (JSON for the API): never a traceback, never a database message."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import LazyString, force_locale, gettext, lazy_gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from webapp.locales import loaded_language
from webapp.same_origin import CrossOriginPost
from webapp.serving import logs

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        lazy_gettext("Something in that request was not right"),
        lazy_gettext("Go back, check what you entered and try again."),
    ),
    403: (
        lazy_gettext("Not allowed"),
        lazy_gettext("Your account cannot do this. Ask the shop's owner if you need it."),
    ),
    404: (
        lazy_gettext("Not found"),
        lazy_gettext("There is nothing here. It may have been moved, or the link is wrong."),
    ),
    405: (lazy_gettext("Not allowed"), lazy_gettext("That page cannot be used that way.")),
    413: (
        lazy_gettext("Too large"),
        lazy_gettext("What you sent is larger than ShopCredit accepts."),
    ),
    429: (
        lazy_gettext("Too many attempts"),
        lazy_gettext("Please wait a minute before trying again."),
    ),
    # A form sent again is never recorded twice (idempotency keys), so retrying is safe.
    500: (
        lazy_gettext("Something went wrong"),
        lazy_gettext("Please try again; if it keeps happening, tell us."),
    ),
    503: (
        lazy_gettext("The database is not answering"),
        lazy_gettext(
            "Please wait a moment and try again; a form sent again is never recorded twice."
        ),
    ),
}

NOT_RECORDED = lazy_gettext(
    "Nothing was recorded. Please wait a moment and try again; a "
    "form sent again is never recorded twice."
)


def _wants_json() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def error_response(
    status: int, title: str | LazyString | None = None, detail: str | LazyString | None = None
) -> Response:
    default_title, default_detail = MESSAGES.get(status, MESSAGES[500])
    # `is None`, not `or`: the truth of a lazy text is its translation, which would ask who is
    # signed in — of the database, which may be what failed.
    title = default_title if title is None else title
    detail = default_detail if detail is None else detail
    response: Response
    if _wants_json():
        # The API is for programs: its messages stay in English whoever calls (README, API).
        with force_locale("en"):
            response = jsonify({"error": str(title).lower(), "details": str(detail)})
    else:
        if status >= 500:
            # The database may be what failed, so this page must not need it: rendered without
            # the context processors, which would load the signed-in user from it, in a language
            # known without asking it.
            language = loaded_language()
            with force_locale(language):
                context = {"status": status, "title": str(title), "detail": str(detail)}
                page = current_app.jinja_env.get_template("errors/plain.html").render(
                    context, lang=language
                )
        else:
            context = {"status": status, "title": str(title), "detail": str(detail)}
            page = render_template("errors/error.html", **context)
        response = Response(page, mimetype="text/html")
    response.status_code = status
    return response


def refuse_unreadable_input() -> Response | None:
    """before_request, ahead of CSRF protection: a form field without a name (a multipart part
    named only by a control character) would break what reads the form; and PostgreSQL text
    cannot hold a NUL character. Say so before either is tried.

    A JSON body is judged by what it says, not by how it is written: it is parsed, and a NUL
    in any of its strings (written `\\u0000`) is refused, while the six characters `\\u0000`
    inside a string (written `\\\\u0000`) are text like any other. A body that does not parse
    is left to the API, which answers it as malformed."""
    if any(not isinstance(key, str) for key in [*request.form.keys(), *request.files.keys()]):
        return error_response(400)
    values = [*request.args.values(), *request.form.values()]
    if request.is_json:
        values.append(request.get_data(as_text=True))  # a raw NUL, even in a broken body
        values.extend(_json_strings(request.get_data(as_text=True)))
    if any("\x00" in value for value in values):
        return error_response(
            400, "Something in that request was not right", "Text cannot contain NUL characters."
        )
    return None


def _json_strings(body: str) -> list[str]:
    """Every string (keys too) in a JSON body; none when it is not JSON (or nested too deep to
    parse). Walked without recursion."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return []
    strings: list[str] = []
    pending: list[Any] = [parsed]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            strings.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return strings


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> Response:
        return error_response(
            400,
            gettext("This form has expired"),
            gettext(
                "For your safety, forms stop working after a while or after "
                "signing out. Go back, reload the page and submit it again."
            ),
        )

    @app.errorhandler(CrossOriginPost)
    def cross_origin(_error: CrossOriginPost) -> Response:
        return error_response(
            403,
            gettext("Sent from another site"),
            "ShopCredit takes forms only from its own pages. Open ShopCredit yourself and "
            "send the form from there.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return error_response(error.code or 500)

    @app.errorhandler(DataError)
    def bad_data(error: DataError) -> Response:
        # Described by SQLSTATE and names only: the refused value may be a customer's name.
        logs.event(log, "data_refused", logging.WARNING, error=logs.describe(error.orig or error))
        return error_response(400)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> Response:
        logs.event(
            log, "database_unavailable", logging.WARNING, error=logs.describe(error.orig or error)
        )
        # A form or API call cut off by the database (a killed connection, a restart) wrote
        # nothing: its transaction died with it. Say so, and that sending it again is safe.
        writing = request.method not in ("GET", "HEAD", "OPTIONS")
        response = error_response(503, detail=NOT_RECORDED if writing else None)
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # The traceback without bound values or the rows a database error quotes (logs.py).
        logs.event(log, "unhandled_error", logging.ERROR, exc_info=error)
        return error_response(500)
