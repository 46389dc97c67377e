"""GET /api/customers (a page of customers) and POST /api/customers (add one).

Only a token whose maker is (still) an owner may set a credit limit, as only owners set them on
the pages. A POST's idempotency_key is kept with the customer it makes: the same POST sent again
answers 200 with the customer it made instead of adding a second one; the key sent again with
other details is refused (409). A customer posted without a credit_limit gets the
shop's default credit limit for new customers (Settings).
"""

from __future__ import annotations

from typing import Any

from flask import g, request
from werkzeug.wrappers import Response

from webapp.api import bp
from webapp.api.common import (
    flag_arg,
    idempotency_key_of,
    invalid,
    json_object,
    json_response,
    listing_response,
    money,
    page_args,
    require_owner,
)
from webapp.customers import operations, queries
from webapp.db import db_session


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


@bp.get("/customers")
def list_customers() -> Response:
    """?q= (name or phone), page (from 1), limit (1 to 200), include_archived (true/false)."""
    problems: dict[str, str] = {}
    page = page_args(problems)
    include_archived = flag_arg("include_archived", problems)
    if problems:
        raise invalid(problems)
    listing = queries.list_customers(
        db_session(),
        page,
        query=request.args.get("q", "").strip()[:100],
        include_archived=include_archived,
    )
    return listing_response("customers", listing, customer_json)


@bp.post("/customers")
def create_customer() -> Response:
    """name (required), phone, email, notes, credit_limit; optional idempotency_key (UUID)."""
    body = json_object()
    # No credit_limit (or null): the customer gets the shop's default, as a clerk's would.
    with_limit = body.get("credit_limit") is not None
    fields, problems = operations.customer_fields(body, with_limit=with_limit)
    key = idempotency_key_of(body)
    if key is None:
        problems["idempotency_key"] = "must be a UUID when given"
    if problems or fields is None or key is None:
        raise invalid(problems)
    if with_limit:
        require_owner("only an owner's token may set a credit limit")
    customer, created = operations.add_customer(
        db_session(), fields, user_id=g.token.user_id, key=key
    )
    return json_response(201 if created else 200, customer_json(customer))
