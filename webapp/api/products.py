"""GET /api/products (a page of products: all, a search, or the one product with a code), POST
/api/products (add one), GET /api/products/<id>.

A POST checks what it is sent with the rules of the product form (`products.operations`). A
POST's idempotency_key is kept with the product it makes, so the same POST sent again (a till
that lost the answer) answers 200 with the product it made rather than adding a second one (the
key sent again with other details is refused with 409). A till that sends no key is still kept
from a duplicate when the product has a SKU: the second POST is refused with 409 and the id of
the product that has the SKU. A barcode (or SKU) that is another product's barcode or SKU is
refused the same way. Only a token whose maker is (still) an owner may add products, as only
owners add them on the pages.
"""

from __future__ import annotations

from typing import Any

from flask import g, request
from werkzeug.wrappers import Response

from webapp.api import bp
from webapp.api.common import (
    ApiError,
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
from webapp.db import db_session
from webapp.inputs import parse_uuid
from webapp.products import operations, queries


def product_json(product: Any) -> dict[str, Any]:
    """A product (a model or a row of the list) as the API shows it."""
    return {
        "id": str(product.id),
        "name": product.name,
        "sku": product.sku,
        "barcode": product.barcode,
        "price": money(product.price),
        "stock": product.stock,
        "is_active": product.is_active,
    }


@bp.get("/products")
def list_products() -> Response:
    """?q= (the search of `queries.search_products`: name, SKU or barcode, best matches first;
    without it, all by name), or ?code= (the one product whose barcode or SKU is exactly this,
    or none: a scanner's lookup), low_stock (at or below the shop's threshold, products for
    sale), include_archived, page (from 1), limit (1 to 200)."""
    problems: dict[str, str] = {}
    page = page_args(problems)
    low_stock = flag_arg("low_stock", problems)
    include_archived = flag_arg("include_archived", problems)
    code = request.args.get("code")
    if code is not None and "q" in request.args:
        problems["code"] = "send either q or code, not both"
    elif code is not None and not 0 < len(code.strip()) <= queries.MAX_CODE:
        problems["code"] = f"a SKU or barcode of 1 to {queries.MAX_CODE} characters"
    if problems:
        raise invalid(problems)
    listing = queries.list_products(
        db_session(),
        page,
        query=request.args.get("q", ""),
        code=code,
        low_stock=low_stock,
        include_archived=include_archived,
    )
    return listing_response("products", listing, product_json)


@bp.post("/products")
def create_product() -> Response:
    """name (required), sku, barcode, price (required), stock (opening, default 0); optional
    idempotency_key (UUID)."""
    body = json_object()
    require_owner("only an owner's token may add products")
    key = idempotency_key_of(body)
    if key is None:
        raise invalid({"idempotency_key": "must be a UUID when given"})

    outcome = operations.add_product(db_session(), body, user_id=g.token.user_id, key=key)
    if outcome.holder is not None:
        field = outcome.taken or "sku"
        raise ApiError(
            409,
            {
                "error": f"{field} already used",
                "details": {field: outcome.problems.get(field, "")},
                "product_id": str(outcome.holder.id),
            },
        )
    if "" in outcome.problems:
        raise ApiError(503, {"error": "busy, try again"})
    if outcome.product is None:
        raise invalid(outcome.problems)
    return json_response(201 if outcome.created else 200, product_json(outcome.product))


@bp.get("/products/<product_id>")
def product(product_id: str) -> Response:
    parsed = parse_uuid(product_id)
    found = queries.get_product(db_session(), parsed) if parsed else None
    if found is None:
        raise ApiError(404, {"error": "product not found"})
    return json_response(200, product_json(found))
