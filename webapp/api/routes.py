"""POST /api/purchase, GET /api/sales/<id>, POST /api/payments, GET /api/customers/<id>,
GET /api/overdue. (Returns, voids and reversals: webapp/api/corrections.py.)"""

from __future__ import annotations

from decimal import Decimal

from flask import g, jsonify, request
from werkzeug.wrappers import Response

from webapp import ledger, reports
from webapp.api import bp
from webapp.api.common import (
    ApiError,
    idempotency_key_of,
    invalid,
    json_object,
    json_response,
    money,
    require_owner,
)
from webapp.customers.queries import get_customer
from webapp.db import db_session
from webapp.inputs import parse_amount, parse_uuid
from webapp.sales.queries import get_receipt


@bp.post("/purchase")
def purchase() -> Response:
    body = json_object()
    problems: dict[str, str] = {}
    customer_id = parse_uuid(body.get("customer_id"))
    if customer_id is None:
        problems["customer_id"] = "a customer id (UUID) is required"
    items, amount, note = body.get("items"), None, body.get("note", "")
    if "amount" in body:  # a quick entry: an amount and what it was for, no items
        amount = parse_amount(body["amount"]) if isinstance(body["amount"], str) else None
        if amount is None:
            problems["amount"] = 'an amount such as "12.50" (a string) is required'
        if items is not None:
            problems["items"] = "send either items or an amount, not both"
        if not isinstance(note, str) or not 1 <= len(note.strip()) <= 200:
            problems["note"] = "what the amount is for, 1 to 200 characters, is required"
        items = []
    elif not isinstance(items, list) or not items:
        problems["items"] = "a non-empty list of {product_id, quantity} (or an amount) is required"
    elif not all(isinstance(item, dict) for item in items):
        problems["items"] = "each item is an object {product_id, quantity}"
    if not isinstance(note, str):
        problems["note"] = "must be text"
    override = body.get("override_reason")
    if override is not None and (
        not isinstance(override, str) or not 1 <= len(override.strip()) <= 500
    ):
        problems["override_reason"] = (
            "why the sale may go over the credit limit, 1 to 500 characters"
        )
    key = idempotency_key_of(body)
    if key is None:
        problems["idempotency_key"] = "must be a UUID when given"
    if problems or customer_id is None or key is None or not isinstance(items, list):
        raise invalid(problems)
    if override is not None:
        require_owner("only an owner's token can record a sale over the credit limit")

    sale = ledger.purchase(
        db_session(),
        customer_id=customer_id,
        lines=[ledger.Line(item.get("product_id"), item.get("quantity")) for item in items],
        idempotency_key=key,
        user_id=g.token.user_id,
        api_token_id=g.token.token_id,
        amount=amount,
        note=note if isinstance(note, str) else "",
        override_reason=override.strip() if isinstance(override, str) else None,
    )
    return json_response(
        201 if sale.created else 200,
        {
            "success": True,
            "order_id": str(sale.order_id),
            "number": sale.number,
            "total": money(sale.total),
            "balance": money(sale.balance_after),
            "due_on": sale.due_on.isoformat(),
            "overridden": sale.overridden,
        },
    )


@bp.get("/sales/<sale_id>")
def sale(sale_id: str) -> Response:
    """A sale as recorded: its lines in the order entered (none for a quick entry)."""
    parsed = parse_uuid(sale_id)
    found = get_receipt(db_session(), parsed) if parsed else None
    if found is None:
        raise ApiError(404, {"error": "sale not found"})
    order = found.order
    return jsonify(
        {
            "id": str(order.id),
            "number": order.number,
            "status": order.status,
            "customer_id": str(order.customer_id),
            "lines": [
                {
                    "product_id": str(item.product_id),
                    "name": item.product.name,
                    "quantity": item.quantity,
                    "unit_price": money(item.unit_price),
                    "line_total": money(item.line_total),
                }
                for item in found.items
            ],
            "note": order.note,
            "total": money(order.total),
            "returned": money(order.returned),
            "paid": money(order.paid),
            "owed": money(order.owed),
            "returns": [
                {
                    "return_id": str(record.id),
                    "number": record.number,
                    "void": record.is_void,
                    "amount": money(record.amount),
                    "refund": money(record.refund),
                }
                for record in order.returns
            ],
            "override_reason": order.override_reason,
            "due_on": order.due_on.isoformat(),
            "created_at": order.created_at.isoformat(),
        }
    )


@bp.post("/payments")
def payments() -> Response:
    body = json_object()
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
    if problems or customer_id is None or amount is None or key is None:
        raise invalid(problems)

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
    return json_response(
        201 if receipt.created else 200,
        {
            "success": True,
            "payment_id": str(receipt.payment_id),
            "number": receipt.number,
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
        raise ApiError(404, {"error": "customer not found"})
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
        raise invalid({"min_days": "one of 0, 30, 60, 90"})
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
