"""GET /api/customers (a page of customers) and POST /api/customers (add one).

Tokens are made by owners, so a token may set a customer's credit limit. A POST's
idempotency_key becomes the new customer's id: the same POST sent again answers 200 with the
customer it made instead of adding a second one (the details sent the second time are not
compared or applied).
"""

from __future__ import annotations

from typing import Any

from flask import g, request
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from webapp import catalog
from webapp.api import bp
from webapp.api.routes import _idempotency_key, _json_object, invalid, json_response, money
from webapp.customers import queries
from webapp.db import db_session
from webapp.listing import Page
from webapp.models import Customer

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_PAGE = 100_000
TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


def customer_json(customer: Any) -> dict[str, Any]:
    """A customer (a model or a row of the list) as the API shows it."""
    return {
        "id": str(customer.id),
        "name": customer.name,
        "phone": customer.phone,
        "email": customer.email,
        "credit_limit": money(customer.credit_limit),
        "balance": money(customer.balance),
        "available_credit": money(customer.available_credit),
        "is_archived": customer.is_archived,
    }


def _whole(raw: str | None, default: int, low: int, high: int) -> int | None:
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not low <= int(raw) <= high:
        return None
    return int(raw)


@bp.get("/customers")
def list_customers() -> Response:
    """?q= (name or phone), page (from 1), limit (1 to 200), include_archived (true/false)."""
    problems: dict[str, str] = {}
    page = _whole(request.args.get("page"), 1, 1, MAX_PAGE)
    if page is None:
        problems["page"] = f"a whole number from 1 to {MAX_PAGE}"
    limit = _whole(request.args.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    if limit is None:
        problems["limit"] = f"a whole number from 1 to {MAX_LIMIT}"
    archived = request.args.get("include_archived", "").strip().lower()
    if archived not in TRUE + FALSE:
        problems["include_archived"] = "true or false"
    if problems:
        return invalid(problems)

    assert page is not None and limit is not None
    listing = queries.list_customers(
        db_session(),
        Page(page, limit),
        query=request.args.get("q", "").strip()[:100],
        include_archived=archived in TRUE,
    )
    return json_response(
        200,
        {
            "customers": [customer_json(row) for row in listing.rows],
            "page": listing.page.number,
            "limit": listing.page.size,
            "has_more": listing.page.has_next,
            "count": listing.count,
        },
    )


@bp.post("/customers")
def create_customer() -> Response:
    """name (required), phone, email, notes, credit_limit; optional idempotency_key (UUID)."""
    body = _json_object()
    if isinstance(body, Response):
        return body
    fields, problems = catalog.customer_fields(body, with_limit=True)
    key = _idempotency_key(body)
    if key is None:
        problems["idempotency_key"] = "must be a UUID when given"
    if problems or fields is None or key is None:
        return invalid(problems)

    session = db_session()
    existing = queries.get_customer(session, key)
    if existing is not None:  # the same POST, sent again
        return json_response(200, customer_json(existing))
    try:
        customer = catalog.create_customer(
            session, fields, user_id=g.token.user_id, customer_id=key
        )
        session.commit()
    except IntegrityError as error:
        session.rollback()
        if getattr(error.orig, "sqlstate", None) != "23505":
            raise
        # Sent twice at once: the other request made the customer.
        existing = session.get(Customer, (session.info["business_id"], key))
        if existing is None:
            raise
        return json_response(200, customer_json(existing))
    return json_response(201, customer_json(customer))
