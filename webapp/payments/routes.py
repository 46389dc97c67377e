from __future__ import annotations

import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from webapp import ledger, reports
from webapp.customers import queries as customer_queries
from webapp.customers.chooser import chooser_page
from webapp.db import db_session, replica_reads
from webapp.formatting import local_date, money
from webapp.forms import add_error
from webapp.inputs import parse_amount, parse_uuid
from webapp.ledger_messages import said
from webapp.listing import filter_values, requested_page
from webapp.models import Customer
from webapp.payments import bp, queries
from webapp.payments.forms import PaymentForm, PaymentsFilterForm


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response | tuple[str, int]:
    if request.method == "GET" and not request.args.get("customer"):
        return chooser_page(
            title=gettext("Take a payment"),
            endpoint="payments.new",
            verb=gettext("Take payment from"),
            include_archived=True,  # an archived customer can still pay what they owe
        )
    form = PaymentForm()
    customer_id = request.args.get("customer") if request.method == "GET" else form.customer_id.data
    customer = customer_queries.customer_or_404(db_session(), customer_id, archived_too=True)
    if request.method == "GET":
        form.customer_id.data = str(customer.id)
        form.order_id.data = request.args.get("sale", "")
        return _payment_page(form, customer)

    valid = form.validate()
    amount = parse_amount(form.amount.data)
    order_id = parse_uuid(form.order_id.data) if form.order_id.data else None
    if form.amount.data and amount is None:
        add_error(form.amount, gettext("Enter an amount like 12.50."))
    if form.order_id.data and order_id is None:
        add_error(form.order_id, gettext("Choose a sale from the list."))
    if not valid or amount is None or form.order_id.errors or form.key is None:
        return _payment_page(form, customer, status=400)
    try:
        receipt = ledger.pay(
            db_session(),
            customer_id=customer.id,
            amount=amount,
            method=form.method.data or "",
            note=(form.note.data or "").strip(),
            idempotency_key=form.key,
            user_id=current_user.id,
            order_id=order_id,
        )
    except ledger.IdempotencyKeyReused:
        form.renew_key()  # the key recorded another payment: this form was out of date
        return _payment_page(form, customer, status=409)
    except ledger.LedgerError as refusal:
        # What was typed is wrong (a negative amount, three decimals): 400, as for any bad
        # form; a payment the ledger's state refuses (more than is owed): 409.
        status = 400 if isinstance(refusal, ledger.InvalidInput) else 409
        return _payment_page(form, customer, _explain(refusal, form, customer), status=status)
    return redirect(url_for("payments.receipt", payment_id=receipt.payment_id))


def _explain(refusal: ledger.LedgerError, form: PaymentForm, customer: Customer) -> str | None:
    """Put the refusal next to its field; return what belongs on top of the form."""
    match refusal:
        case ledger.PaymentExceedsBalance():
            add_error(
                form.amount,
                gettext(
                    "That is more than %(name)s owes (%(balance)s).",
                    name=customer.name,
                    balance=money(refusal.balance),
                ),
            )
        case ledger.InvalidInput() if refusal.field in ("amount", "method", "note", "order_id"):
            add_error(form[refusal.field], said(refusal.message))
        case ledger.NotFound() if refusal.entity == "sale":
            add_error(form.order_id, gettext("That sale was not found."))
        case ledger.NotFound():
            abort(404)
        case ledger.Busy():
            return gettext(
                "Another till is busy with this customer. Nothing was recorded; try again."
            )
        case _:
            return gettext("The payment was not recorded. Check it and try again.")
    return None


def _payment_page(
    form: PaymentForm, customer: Customer, error: str | None = None, *, status: int = 200
) -> tuple[str, int]:
    sales = reports.open_sales(db_session(), customer.id)
    form.order_id.choices = [SelectChoice("", gettext("Oldest sales first"))] + [
        SelectChoice(
            str(sale.order_id),
            gettext(
                "Sale of %(created_at)s, due %(due_on)s: %(owed)s owed",
                created_at=local_date(sale.created_at),
                due_on=local_date(sale.due_on),
                owed=money(sale.owed),
            ),
        )
        for sale in sales
    ]
    page = render_template(
        "payments/new.html", form=form, customer=customer, open_sales=sales, error=error
    )
    return page, status


@bp.route("/<uuid:payment_id>")
def receipt(payment_id: uuid.UUID) -> str:
    found = queries.get_receipt(db_session(), payment_id)
    if found is None:
        abort(404)
    return render_template("payments/receipt.html", receipt=found)


@bp.route("")
@replica_reads
def index() -> str:
    form = PaymentsFilterForm(request.args)
    form.validate()
    method = form.method.data if form.method.data in ledger.PAYMENT_METHODS else None
    filters = queries.PaymentsFilter(**filter_values(form), method=method)
    payments = queries.list_payments(db_session(), filters, requested_page())
    return render_template("payments/index.html", form=form, payments=payments, filters=filters)
