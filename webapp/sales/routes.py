from __future__ import annotations

import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import ledger
from webapp.customers import queries as customer_queries
from webapp.customers.chooser import chooser_page
from webapp.db import db_session
from webapp.formatting import money
from webapp.listing import ListFilter, filter_values, requested_page
from webapp.models import Customer
from webapp.sales import bp, queries
from webapp.sales.forms import EMPTY_ROWS, MAX_LINES, SaleDraft, SaleForm, SalesFilterForm

TOO_LONG = f"A sale has at most {MAX_LINES} lines; split it into two sales."


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response | tuple[str, int]:
    if request.method == "GET" and not request.args.get("customer"):
        return chooser_page(title="New sale", endpoint="sales.new", verb="Sell to")
    form = SaleForm()
    session = db_session()
    customer_id = request.args.get("customer") if request.method == "GET" else form.customer_id.data
    customer = customer_queries.customer_or_404(session, customer_id)
    if request.method == "GET":
        form.customer_id.data = str(customer.id)
        return _sale_page(form, customer, SaleDraft([]))

    draft = SaleDraft.from_request()
    if not form.validate() or form.key is None:
        return _sale_page(form, customer, draft, status=400)
    if "more_rows" in request.form:
        return _sale_page(form, customer, draft, extra_rows=EMPTY_ROWS)
    if draft.too_long:
        draft = SaleDraft(draft.rows[:MAX_LINES], error=TOO_LONG)
        return _sale_page(form, customer, draft, status=400)
    if not draft.sent:
        draft.error = "Choose at least one product."
        return _sale_page(form, customer, draft, status=400)
    try:
        sale = ledger.purchase(
            session,
            customer_id=customer.id,
            lines=draft.lines(),
            idempotency_key=form.key,
            user_id=current_user.id,
        )
    except ledger.LedgerError as refusal:
        _explain(refusal, draft, customer)
        return _sale_page(form, customer, draft, status=409)
    return redirect(url_for("sales.receipt", order_id=sale.order_id))


def _explain(refusal: ledger.LedgerError, draft: SaleDraft, customer: Customer) -> None:
    """A refusal in the clerk's words, next to the line or the customer it concerns."""
    match refusal:
        case ledger.InsufficientStock():
            left = refusal.available
            draft.fault(
                None,
                refusal.product_id,
                f"Only {left} left in stock." if left else "Out of stock.",
            )
        case ledger.CreditLimitExceeded():
            draft.error = (
                f"Not recorded: this sale would take {customer.name} over the credit limit. "
                f"Available credit is {money(refusal.available_credit)}."
            )
        case ledger.NotFound():
            draft.fault(None, refusal.id, "This product is not for sale any more.")
        case ledger.InvalidInput():
            draft.fault(refusal.line, None, refusal.message.capitalize() + ".")
        case ledger.CustomerArchived():
            draft.error = f"{customer.name} is archived and cannot buy on credit."
        case ledger.Busy():
            draft.error = (
                "Another till is busy with this customer. Nothing was recorded; try again."
            )
        case _:
            draft.error = "The sale was not recorded. Check it and try again."


def _sale_page(
    form: SaleForm,
    customer: Customer,
    draft: SaleDraft,
    *,
    status: int = 200,
    extra_rows: int = 0,
) -> tuple[str, int]:
    products = queries.sellable_products(db_session())
    page = render_template(
        "sales/new.html",
        form=form,
        customer=customer,
        products=products,
        rows=draft.padded(extra_rows),
        error=draft.error,
    )
    return page, status


@bp.route("/<uuid:order_id>")
def receipt(order_id: uuid.UUID) -> str:
    found = queries.get_receipt(db_session(), order_id)
    if found is None:
        abort(404)
    return render_template("sales/receipt.html", receipt=found)


@bp.route("")
def index() -> str:
    form = SalesFilterForm(request.args)
    form.validate()
    filters = ListFilter(**filter_values(form))
    sales = queries.list_sales(db_session(), filters, requested_page())
    return render_template("sales/index.html", form=form, sales=sales, filters=filters)
