"""The JSON API for tills and scripts. Bearer-token auth; the token decides the business."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import g, jsonify, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from webapp import ledger, reports
from webapp.api import bp, tokens
from webapp.customers.queries import get_customer
from webapp.db import bind_tenant, db_session
from webapp.extensions import csrf
from webapp.inputs import parse_amount, parse_uuid
from webapp.listing import Listing, Page
from webapp.models import User

csrf.exempt(bp)  # no cookies here: a request without the token proves nothing

# The list endpoints' paging (?page=, ?limit=) and yes/no parameters.
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_PAGE = 100_000
TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


def json_response(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def invalid(details: Any) -> Response:
    return json_response(400, {"error": "invalid request", "details": details})


def money(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01")))


@bp.before_request
def require_token() -> Response | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    session = db_session()
    holder = tokens.authenticate(session, token.strip()) if scheme.lower() == "bearer" else None
    if holder is None:
        response = json_response(
            401, {"error": "unauthorized", "details": "send Authorization: Bearer <token>"}
        )
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    bind_tenant(session, holder.business_id)
    tokens.touch(session, holder)
    g.token = holder
    return None


def json_object() -> dict[str, Any] | Response:
    """The request's JSON object, or the answer refusing it (not an object, or naming another
    business than the token's)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return invalid("the body must be a JSON object")
    if "business_id" in body and str(body["business_id"]) != str(g.token.business_id):
        return json_response(
            403, {"error": "forbidden", "details": "this token belongs to another business"}
        )
    return body


def idempotency_key_of(body: dict[str, Any]) -> uuid.UUID | None:
    """The body's idempotency_key (a new one when none is sent); None when it is not a UUID."""
    if body.get("idempotency_key") is None:
        return uuid.uuid4()
    return parse_uuid(body["idempotency_key"])


def maker_is_owner() -> bool:
    """Whether the token's maker is an owner now: only owners make tokens, but one may since
    have been made a clerk, and the token then does what a clerk may (its maker is active, or
    the token would not have been accepted)."""
    role = db_session().scalar(
        select(User.role).where(User.business_id == g.token.business_id, User.id == g.token.user_id)
    )
    return role == "owner"


def _whole_arg(name: str, default: int, high: int, problems: dict[str, str]) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if raw.isascii() and raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= high:
        return int(raw)
    problems[name] = f"a whole number from 1 to {high}"
    return default


def page_args(problems: dict[str, str]) -> Page:
    """?page= (from 1) and ?limit= (1 to 200) of a list; a bad value is named in `problems`."""
    return Page(
        _whole_arg("page", 1, MAX_PAGE, problems),
        _whole_arg("limit", DEFAULT_LIMIT, MAX_LIMIT, problems),
    )


def flag_arg(name: str, problems: dict[str, str]) -> bool:
    """A yes/no parameter (true/false, 1/0, yes/no, on/off; absent is no)."""
    value = request.args.get(name, "").strip().lower()
    if value not in TRUE + FALSE:
        problems[name] = "true or false (1 or 0)"
    return value in TRUE


def listing_response(
    name: str, listing: Listing, as_json: Callable[[Any], dict[str, Any]]
) -> Response:
    """One page of a list, as every list endpoint answers it."""
    return json_response(
        200,
        {
            name: [as_json(row) for row in listing.rows],
            "page": listing.page.number,
            "limit": listing.page.size,
            "has_more": listing.page.has_next,
            "count": listing.count,
        },
    )


@bp.post("/purchase")
def purchase() -> Response:
    body = json_object()
    if isinstance(body, Response):
        return body
    problems: dict[str, str] = {}
    customer_id = parse_uuid(body.get("customer_id"))
    if customer_id is None:
        problems["customer_id"] = "a customer id (UUID) is required"
    items = body.get("items")
    if not isinstance(items, list) or not items:
        problems["items"] = "a non-empty list of {product_id, quantity} is required"
    elif not all(isinstance(item, dict) for item in items):
        problems["items"] = "each item is an object {product_id, quantity}"
    key = idempotency_key_of(body)
    if key is None:
        problems["idempotency_key"] = "must be a UUID when given"
    if problems:
        return invalid(problems)

    assert customer_id is not None and key is not None and isinstance(items, list)
    try:
        sale = ledger.purchase(
            db_session(),
            customer_id=customer_id,
            lines=[ledger.Line(item.get("product_id"), item.get("quantity")) for item in items],
            idempotency_key=key,
            user_id=g.token.user_id,
            api_token_id=g.token.token_id,
        )
    except ledger.LedgerError as refusal:
        return refusal_response(refusal)
    return json_response(
        201 if sale.created else 200,
        {
            "success": True,
            "order_id": str(sale.order_id),
            "total": money(sale.total),
            "balance": money(sale.balance_after),
            "due_on": sale.due_on.isoformat(),
        },
    )


@bp.post("/payments")
def payments() -> Response:
    body = json_object()
    if isinstance(body, Response):
        return body
    problems: dict[str, str] = {}
    customer_id = parse_uuid(body.get("customer_id"))
    if customer_id is None:
        problems["customer_id"] = "a customer id (UUID) is required"
    amount = parse_amount(body.get("amount"))
    if amount is None:
        problems["amount"] = 'an amount such as "12.50" is required'
    method = body.get("method", "cash")
    if not isinstance(method, str) or method not in ledger.PAYMENT_METHODS:
        problems["method"] = f"one of {', '.join(ledger.PAYMENT_METHODS)}"
    order_id = parse_uuid(body.get("order_id")) if body.get("order_id") is not None else None
    if body.get("order_id") is not None and order_id is None:
        problems["order_id"] = "must be a sale id (UUID) when given"
    note = body.get("note", "")
    if not isinstance(note, str):
        problems["note"] = "must be text"
    key = idempotency_key_of(body)
    if key is None:
        problems["idempotency_key"] = "must be a UUID when given"
    if problems:
        return invalid(problems)

    assert customer_id is not None and amount is not None and key is not None
    try:
        receipt = ledger.pay(
            db_session(),
            customer_id=customer_id,
            amount=amount,
            method=method,
            note=note,
            idempotency_key=key,
            user_id=g.token.user_id,
            order_id=order_id,
            api_token_id=g.token.token_id,
        )
    except ledger.LedgerError as refusal:
        return refusal_response(refusal)
    return json_response(
        201 if receipt.created else 200,
        {
            "success": True,
            "payment_id": str(receipt.payment_id),
            "balance": money(receipt.balance_after),
            "allocations": [
                {"order_id": str(share.order_id), "amount": money(share.amount)}
                for share in receipt.allocations
            ],
        },
    )


@bp.get("/customers/<customer_id>")
def customer(customer_id: str) -> Response:
    session = db_session()
    parsed = parse_uuid(customer_id)
    found = get_customer(session, parsed) if parsed else None
    if found is None:
        return json_response(404, {"error": "customer not found"})
    return jsonify(
        {
            "id": str(found.id),
            "name": found.name,
            "phone": found.phone,
            "credit_limit": money(found.credit_limit),
            "balance": money(found.balance),
            "available_credit": money(found.available_credit),
            "overdue_amount": money(reports.overdue_amount(reports.open_sales(session, found.id))),
        }
    )


@bp.get("/overdue")
def overdue() -> Response:
    """The overdue list, with the page's filters: min_days (0, 30, 60, 90) and q."""
    raw_days = request.args.get("min_days", "0")
    if raw_days not in ("0", "30", "60", "90"):
        return invalid({"min_days": "one of 0, 30, 60, 90"})
    report = reports.overdue(
        db_session(), min_days=int(raw_days), query=request.args.get("q", "").strip()[:100]
    )

    def aging(buckets: dict[str, Decimal]) -> dict[str, str]:
        return {bucket: money(amount) for bucket, amount in buckets.items()}

    return jsonify(
        {
            "as_of": report.as_of.isoformat(),
            "customers": [
                {
                    "id": str(c.id),
                    "name": c.name,
                    "phone": c.phone,
                    "balance": money(c.balance),
                    "overdue_amount": money(c.overdue_amount),
                    "oldest_due_on": c.oldest_due_on.isoformat(),
                    "days_overdue": c.days_overdue,
                    "last_payment_on": c.last_payment_on.isoformat() if c.last_payment_on else None,
                    "aging": aging(c.aging),
                }
                for c in report.customers
            ],
            "totals": {
                "balance": money(report.balance),
                "overdue_amount": money(report.overdue_amount),
                "aging": aging(report.aging),
            },
        }
    )


def refusal_response(refusal: ledger.LedgerError) -> Response:
    match refusal:
        case ledger.InsufficientStock():
            return json_response(
                409,
                {
                    "error": "insufficient stock",
                    "product_id": str(refusal.product_id),
                    "available": refusal.available,
                },
            )
        case ledger.CreditLimitExceeded():
            return json_response(
                409,
                {
                    "error": "credit limit exceeded",
                    "available_credit": money(refusal.available_credit),
                },
            )
        case ledger.NotFound():
            body = {"error": f"{refusal.entity or 'record'} not found"}
            if refusal.entity in ("product", "sale") and refusal.id is not None:
                body["product_id" if refusal.entity == "product" else "order_id"] = str(refusal.id)
            return json_response(404, body)
        case ledger.InvalidInput():
            return invalid({**refusal.detail, "message": refusal.message})
        case ledger.PaymentExceedsBalance():
            return json_response(
                409, {"error": "payment exceeds balance", "balance": money(refusal.balance)}
            )
        case ledger.CustomerArchived():
            return json_response(409, {"error": "customer archived"})
        case ledger.IdempotencyKeyReused():
            return json_response(
                409, {"error": "idempotency key already used for another customer"}
            )
        case ledger.Busy():
            return json_response(503, {"error": "busy, try again"})
    return json_response(409, {"error": refusal.message})
