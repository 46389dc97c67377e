"""POST /api/sales/<id>/returns, POST /api/sales/<id>/void, POST /api/payments/<id>/reversal,
GET /api/payments/<id>: putting mistakes right from a till or a script."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, jsonify
from werkzeug.wrappers import Response

from webapp import ledger
from webapp.api import bp
from webapp.api.common import (
    ApiError,
    idempotency_key_of,
    invalid,
    json_object,
    json_response,
    money,
)
from webapp.db import db_session
from webapp.inputs import parse_amount, parse_uuid
from webapp.payments.queries import get_receipt as get_payment


def _reason(body: dict[str, Any], problems: dict[str, str]) -> str:
    reason = body.get("reason")
    if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= 500:
        problems["reason"] = "why, 1 to 500 characters, is required"
        return ""
    return reason.strip()


def _return_response(result: ledger.Return) -> Response:
    return json_response(
        201 if result.created else 200,
        {
            "success": True,
            "return_id": str(result.return_id),
            "number": result.number,
            "amount": money(result.amount),
            "refund": money(result.refund),
            "balance": money(result.balance_after),
        },
    )


def _record_return(**arguments: Any) -> ledger.Return:
    """record_return, where a sale not found is answered without its id (it was in the path:
    nothing to point at, and another shop's id is not repeated back)."""
    try:
        return ledger.record_return(db_session(), **arguments)
    except ledger.NotFound as missing:
        if missing.entity == "sale":
            raise ApiError(404, {"error": "sale not found"}) from None
        raise


def _sale_id(sale_id: str) -> uuid.UUID:
    parsed = parse_uuid(sale_id)
    if parsed is None:
        raise ApiError(404, {"error": "sale not found"})
    return parsed


def _refund_method(body: dict[str, Any], problems: dict[str, str]) -> str | None:
    method = body.get("refund_method")
    # Text first: a JSON object or list cannot be looked up among the methods (unhashable).
    if method is not None and (not isinstance(method, str) or method not in ledger.PAYMENT_METHODS):
        problems["refund_method"] = f"one of {', '.join(ledger.PAYMENT_METHODS)}, when given"
        return None
    return method


@bp.post("/sales/<sale_id>/returns")
def sale_returns(sale_id: str) -> Response:
    """Items back from a sale ({"items": [{"product_id", "quantity"}]}), or, for a sale without
    items, {"amount": "12.50"} off it."""
    order_id = _sale_id(sale_id)
    body = json_object()
    problems: dict[str, str] = {}
    reason = _reason(body, problems)
    refund_method = _refund_method(body, problems)
    items, amount = body.get("items"), None
    if "amount" in body:
        amount = parse_amount(body["amount"]) if isinstance(body["amount"], str) else None
        if amount is None:
            problems["amount"] = 'an amount such as "12.50" (a string) is required'
        if items is not None:
            problems["items"] = "send either items or an amount, not both"
    elif not isinstance(items, list) or not items:
        problems["items"] = "a non-empty list of {product_id, quantity} (or an amount) is required"
    elif not all(isinstance(item, dict) for item in items):
        problems["items"] = "each item is an object {product_id, quantity}"
    key = idempotency_key_of(body)
    if key is None:
        problems["idempotency_key"] = "must be a UUID when given"
    if problems or key is None:
        raise invalid(problems)
    result = _record_return(
        order_id=order_id,
        reason=reason,
        idempotency_key=key,
        user_id=g.token.user_id,
        lines=(
            [ledger.Line(item.get("product_id"), item.get("quantity")) for item in items]
            if isinstance(items, list)
            else None
        ),
        amount=amount,
        refund_method=refund_method,
        api_token_id=g.token.token_id,
    )
    return _return_response(result)


@bp.post("/sales/<sale_id>/void")
def void_sale(sale_id: str) -> Response:
    """Everything still unreturned on the sale comes back."""
    order_id = _sale_id(sale_id)
    body = json_object()
    problems: dict[str, str] = {}
    reason = _reason(body, problems)
    refund_method = _refund_method(body, problems)
    key = idempotency_key_of(body)
    if key is None:
        problems["idempotency_key"] = "must be a UUID when given"
    if problems or key is None:
        raise invalid(problems)
    result = _record_return(
        order_id=order_id,
        reason=reason,
        idempotency_key=key,
        user_id=g.token.user_id,
        void=True,
        refund_method=refund_method,
        api_token_id=g.token.token_id,
    )
    return _return_response(result)


@bp.post("/payments/<payment_id>/reversal")
def payment_reversal(payment_id: str) -> Response:
    parsed = parse_uuid(payment_id)
    if parsed is None:
        raise ApiError(404, {"error": "payment not found"})
    body = json_object()
    problems: dict[str, str] = {}
    reason = _reason(body, problems)
    key = idempotency_key_of(body)
    if key is None:
        problems["idempotency_key"] = "must be a UUID when given"
    if problems or key is None:
        raise invalid(problems)
    reversal = ledger.reverse_payment(
        db_session(),
        payment_id=parsed,
        reason=reason,
        idempotency_key=key,
        user_id=g.token.user_id,
        api_token_id=g.token.token_id,
    )
    return json_response(
        201 if reversal.created else 200,
        {"success": True, "number": reversal.number, "balance": money(reversal.balance_after)},
    )


@bp.get("/payments/<payment_id>")
def payment(payment_id: str) -> Response:
    """A payment with how it is applied now, its number, and whether it was reversed."""
    parsed = parse_uuid(payment_id)
    found = get_payment(db_session(), parsed) if parsed else None
    if found is None:
        raise ApiError(404, {"error": "payment not found"})
    paid = found.payment
    reversal = paid.reversal
    return jsonify(
        {
            "id": str(paid.id),
            "number": paid.number,
            "customer_id": str(paid.customer_id),
            "amount": money(paid.amount),
            "method": paid.method,
            "note": paid.note,
            "balance_after": money(paid.balance_after),
            "created_at": paid.created_at.isoformat(),
            "allocations": [
                {
                    "order_id": str(share.order_id),
                    "order_number": share.order_number,
                    "amount": money(share.amount),
                }
                for share in found.allocations
            ],
            "reversed": reversal is not None,
            "reversal": (
                {"reason": reversal.reason, "created_at": reversal.created_at.isoformat()}
                if reversal
                else None
            ),
        }
    )
