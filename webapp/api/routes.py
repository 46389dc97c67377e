"""The JSON API for tills and scripts. Bearer-token auth; the token decides the business."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from flask import g, jsonify, request
from werkzeug.wrappers import Response

from webapp import ledger, reports
from webapp.api import bp, tokens
from webapp.customers.queries import get_customer
from webapp.db import bind_tenant, db_session
from webapp.extensions import csrf
from webapp.inputs import parse_amount, parse_uuid

csrf.exempt(bp)  # no cookies here: a request without the token proves nothing


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


def _json_object() -> dict[str, Any] | Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return invalid("the body must be a JSON object")
    if "business_id" in body and str(body["business_id"]) != str(g.token.business_id):
        return json_response(
            403, {"error": "forbidden", "details": "this token belongs to another business"}
        )
    return body


def _idempotency_key(body: dict[str, Any]) -> uuid.UUID | None:
    if body.get("idempotency_key") is None:
        return uuid.uuid4()
    return parse_uuid(body["idempotency_key"])


@bp.post("/purchase")
def purchase() -> Response:
    body = _json_object()
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
    key = _idempotency_key(body)
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
    body = _json_object()
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
    key = _idempotency_key(body)
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
