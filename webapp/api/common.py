"""What every API endpoint shares: the bearer token, reading the JSON body and list arguments,
answering in JSON, and `ApiError` — raised anywhere in a view, answered as its JSON body."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import current_app, g, jsonify, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from webapp import ledger
from webapp.api import tokens
from webapp.api.token_use import PendingUses
from webapp.db import bind_tenant, db_session, get_db, use_replica
from webapp.inputs import parse_uuid
from webapp.listing import Listing, Page
from webapp.models import User

# The list endpoints' paging (?page=, ?limit=) and yes/no parameters.
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_PAGE = 100_000
TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


class ApiError(Exception):
    """An answer other than success: its status and JSON body."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("error", ""))
        self.status = status
        self.body = body
        self.headers = headers or {}


def invalid(details: Any) -> ApiError:
    return ApiError(400, {"error": "invalid request", "details": details})


def forbidden(details: str) -> ApiError:
    return ApiError(403, {"error": "forbidden", "details": details})


def key_reused() -> ApiError:
    """The same idempotency key with another request than the one it was first sent with."""
    return ApiError(409, {"error": "idempotency key already used for a different request"})


def json_response(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def api_error_response(error: ApiError) -> Response:
    response = json_response(error.status, error.body)
    response.headers.update(error.headers)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def money(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01")))


def require_token() -> None:
    """before_request of the API: the bearer token decides the business (and who acts); each
    token may send the business's `api_requests_per_minute`, then gets 429 with Retry-After.
    A GET writes nothing (it runs on the replica when there is one): its token's use is noted
    in memory and written later (api.token_use). The API's description needs no token."""
    if request.endpoint == "api.openapi_description":
        return
    reading = request.method in ("GET", "HEAD")
    if reading:
        use_replica()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    session = db_session()
    holder = tokens.authenticate(session, token.strip()) if scheme.lower() == "bearer" else None
    if holder is None:
        raise ApiError(
            401, {"error": "unauthorized", "details": "send Authorization: Bearer <token>"}
        )
    bind_tenant(session, holder.business_id)
    if reading:
        per_minute = tokens.allowance(session, holder)
        pending_uses().note(holder.business_id, holder.token_id)
    else:
        per_minute = tokens.touch(session, holder)
    wait = tokens.wait_for(holder, per_minute)
    if wait is not None:
        raise ApiError(429, {"error": "too many requests"}, {"Retry-After": str(wait)})
    g.token = holder


PENDING_USES_KEY = "shopcredit.token_uses"


def pending_uses() -> PendingUses:
    """This app's token uses noted by GETs and not yet written."""
    uses = current_app.extensions.get(PENDING_USES_KEY)
    if uses is None:
        uses = current_app.extensions.setdefault(PENDING_USES_KEY, PendingUses(get_db()))
    assert isinstance(uses, PendingUses)
    return uses


def json_object() -> dict[str, Any]:
    """The request's JSON object; refused when it is not an object, or names another business
    than the token's."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: malformed like any other
        body = None
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    # Compared as UUIDs: the token's own business written in capitals is the token's business.
    if "business_id" in body and parse_uuid(body["business_id"]) != g.token.business_id:
        raise forbidden("this token belongs to another business")
    return body


def idempotency_key_of(body: dict[str, Any]) -> uuid.UUID | None:
    """The body's idempotency_key (a new one when none is sent); None when it is not a UUID."""
    if body.get("idempotency_key") is None:
        return uuid.uuid4()
    return parse_uuid(body["idempotency_key"])


def require_owner(details: str) -> None:
    """Refuse unless the token's maker is an owner now: only owners make tokens, but one may
    since have been made a clerk, and the token then does what a clerk may (its maker is
    active, or the token would not have been accepted)."""
    role = db_session().scalar(
        select(User.role).where(User.business_id == g.token.business_id, User.id == g.token.user_id)
    )
    if role != "owner":
        raise forbidden(details)


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


def refusal_error(refusal: ledger.LedgerError) -> ApiError:
    """A ledger refusal as the API answers it."""
    match refusal:
        case ledger.InsufficientStock():
            return ApiError(
                409,
                {
                    "error": "insufficient stock",
                    "product_id": str(refusal.product_id),
                    "available": refusal.available,
                    "lines": [
                        {
                            "product_id": str(line.product_id),
                            "requested": line.requested,
                            "available": line.available,
                        }
                        for line in refusal.lines
                    ],
                },
            )
        case ledger.CreditLimitExceeded():
            return ApiError(
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
            return ApiError(404, body)
        case ledger.InvalidInput() if "refund" in refusal.detail:
            refund = Decimal(str(refusal.detail["refund"]))
            return invalid({**refusal.detail, "refund": money(refund), "message": refusal.message})
        case ledger.InvalidInput():
            return invalid({**refusal.detail, "message": refusal.message})
        case ledger.PaymentExceedsBalance():
            return ApiError(
                409, {"error": "payment exceeds balance", "balance": money(refusal.balance)}
            )
        case ledger.CustomerArchived():
            return ApiError(409, {"error": "customer archived"})
        case ledger.IdempotencyKeyReused():
            return key_reused()
        case ledger.NotPermitted():
            return ApiError(
                403, {"error": "forbidden", "details": refusal.message, "reason": refusal.reason}
            )
        case ledger.NothingToReturn():
            return ApiError(
                409, {"error": "nothing left to return", "order_id": refusal.detail["order_id"]}
            )
        case ledger.MoreThanReturnable() if refusal.product_id is not None:
            return ApiError(
                409,
                {
                    "error": "quantity exceeds what was sold",
                    "product_id": str(refusal.product_id),
                    "returnable": int(refusal.returnable),
                    "lines": refusal.detail.get("lines", []),
                },
            )
        case ledger.MoreThanReturnable():
            return ApiError(
                409,
                {"error": "amount exceeds what is left", "returnable": money(refusal.returnable)},
            )
        case ledger.AlreadyReversed():
            return ApiError(
                409,
                {"error": "payment already reversed", "payment_id": refusal.detail["payment_id"]},
            )
        case ledger.PartlyRefunded():
            return ApiError(
                409, {"error": "payment partly refunded", "refunded": money(refusal.refunded)}
            )
        case ledger.Busy():
            return ApiError(503, {"error": "busy, try again"})
    return ApiError(409, {"error": refusal.message})
