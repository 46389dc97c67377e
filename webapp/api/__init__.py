"""The JSON API for tills and scripts. Bearer-token auth; the token decides the business.

Views raise `ApiError` (and the ledger's refusals) rather than return them: the handlers below
answer each as its JSON body."""

from flask import Blueprint
from werkzeug.wrappers import Response

from webapp import ledger
from webapp.extensions import csrf
from webapp.idempotency import KeyReused

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # no cookies here: a request without the token proves nothing

# Importing the modules registers their views on bp.
from webapp.api import (  # noqa: E402
    common,
    corrections,  # noqa: F401  (returns, voids, reversals, a payment)
    customers,  # noqa: F401  (GET/POST /api/customers)
    description,  # noqa: F401  (GET /api/openapi.json, the OpenAPI description)
    products,  # noqa: F401  (GET/POST /api/products, GET /api/products/<id>)
    routes,  # noqa: F401  (sales, payments, a customer, the overdue list)
)

bp.before_request(common.require_token)


@bp.errorhandler(common.ApiError)
def api_error(error: common.ApiError) -> Response:
    return common.api_error_response(error)


@bp.errorhandler(KeyReused)
def key_reused(_error: KeyReused) -> Response:
    return common.api_error_response(common.key_reused())


@bp.errorhandler(ledger.LedgerError)
def ledger_refusal(refusal: ledger.LedgerError) -> Response:
    return common.api_error_response(common.refusal_error(refusal))
