"""Returns and voids of a sale (from its receipt), the return's receipt, and an owner's reversal
of a payment. The ledger decides who may and what can come back (record_return,
reverse_payment); these pages ask, show what it said, and link the records."""

from __future__ import annotations

import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import ledger
from webapp.auth.access import owner_required
from webapp.corrections import bp, queries
from webapp.corrections.forms import ReturnForm, ReversalForm
from webapp.corrections.rules import may_correct
from webapp.db import db_session
from webapp.formatting import money
from webapp.forms import add_error
from webapp.inputs import parse_amount, whole_number
from webapp.ledger_messages import said
from webapp.models import Order
from webapp.payments import queries as payment_queries

Page = tuple[str, int]


@bp.route("/sales/<uuid:order_id>/return", methods=["GET", "POST"])
def return_items(order_id: uuid.UUID) -> Page | Response:
    return _correction(order_id, void=False)


@bp.route("/sales/<uuid:order_id>/void", methods=["GET", "POST"])
def void_sale(order_id: uuid.UUID) -> Page | Response:
    return _correction(order_id, void=True)


def _correction(order_id: uuid.UUID, *, void: bool) -> Page | Response:
    session = db_session()
    order = queries.get_order(session, order_id)
    if order is None:
        abort(404)
    lines = queries.returnable_lines(session, order_id)
    form = ReturnForm()
    typed = {str(line.product_id): request.form.get(f"qty-{line.product_id}", "") for line in lines}
    if request.method == "GET":
        return _page(form, order, lines, void, typed)

    valid = form.validate()
    wanted, line_errors = _wanted(lines, typed) if lines and not void else ([], {})
    amount = None
    if not void and not lines:
        amount = parse_amount(form.amount.data or "")
        if amount is None:
            add_error(form.amount, gettext("Enter an amount like 12.50."))
    error = None
    if lines and not void and not wanted and not line_errors:
        error = gettext("Enter how many of an item come back.")
    if not valid or line_errors or error or form.amount.errors or form.key is None:
        return _page(form, order, lines, void, typed, line_errors, error, status=400)
    try:
        result = ledger.record_return(
            session,
            order_id=order.id,
            reason=(form.reason.data or "").strip(),
            idempotency_key=form.key,
            user_id=current_user.id,
            lines=wanted if lines and not void else None,
            amount=amount,
            void=void,
            refund_method=form.refund_method.data,
        )
    except ledger.IdempotencyKeyReused:
        form.renew_key()  # the key recorded another return: this form was out of date
        return _page(form, order, lines, void, typed, status=409)
    except ledger.LedgerError as refusal:
        status, error = _explain(refusal, form, line_errors)
        return _page(form, order, lines, void, typed, line_errors, error, status=status)
    return redirect(url_for("corrections.return_receipt", return_id=result.return_id))


def _wanted(
    lines: list[queries.ReturnableLine], typed: dict[str, str]
) -> tuple[list[ledger.Line], dict[str, str]]:
    """The quantities typed per line (blank or 0: none of it), and a message per line at
    fault."""
    wanted: list[ledger.Line] = []
    errors: dict[str, str] = {}
    for line in lines:
        text = typed[str(line.product_id)].strip()
        if text in ("", "0"):
            continue
        quantity = whole_number(text)
        if quantity is None or quantity < 0:
            errors[str(line.product_id)] = gettext("Enter a whole number.")
        elif quantity > line.returnable:
            errors[str(line.product_id)] = gettext(
                "At most %(returnable)s can come back.", returnable=line.returnable
            )
        else:
            wanted.append(ledger.Line(line.product_id, quantity))
    return wanted, errors


def _explain(
    refusal: ledger.LedgerError, form: ReturnForm, line_errors: dict[str, str]
) -> tuple[int, str]:
    """The refusal in the user's words, and the status it answers with."""
    match refusal:
        case ledger.NotPermitted() if refusal.reason == "not_own_sale":
            return 403, gettext("A clerk can return or void only their own sales. Ask an owner.")
        case ledger.NotPermitted():
            return 403, said(refusal.message)
        case ledger.NothingToReturn():
            return 409, gettext("Nothing is left to return on this sale.")
        case ledger.MoreThanReturnable() if refusal.product_id is not None:
            for line in refusal.detail.get("lines", []):
                line_errors[line["product_id"]] = gettext(
                    "At most %(line)s can come back.", line=line["returnable"]
                )
            return 409, gettext("Not recorded: check the quantities marked below.")
        case ledger.MoreThanReturnable():
            add_error(
                form.amount,
                gettext(
                    "At most %(returnable)s is left on this sale.",
                    returnable=money(refusal.returnable),
                ),
            )
            return 409, gettext("Not recorded: check the amount.")
        case ledger.InvalidInput() if refusal.field in ("reason", "refund_method", "amount"):
            add_error(form[refusal.field], said(refusal.message))
            return 400, gettext("Not recorded: check the form.")
        case ledger.Busy():
            return 409, gettext(
                "Another till is busy with this customer. Nothing was recorded; try again."
            )
        case _:
            return 409, gettext("The return was not recorded. Check it and try again.")


def _page(
    form: ReturnForm,
    order: Order,
    lines: list[queries.ReturnableLine],
    void: bool,
    typed: dict[str, str],
    line_errors: dict[str, str] | None = None,
    error: str | None = None,
    *,
    status: int = 200,
) -> Page:
    page = render_template(
        "corrections/return.html",
        form=form,
        order=order,
        lines=lines,
        void=void,
        typed=typed,
        line_errors=line_errors or {},
        error=error,
        allowed=may_correct(order),
    )
    return page, status


@bp.route("/returns/<uuid:return_id>")
def return_receipt(return_id: uuid.UUID) -> str:
    found = queries.get_return(db_session(), return_id)
    if found is None:
        abort(404)
    return render_template("corrections/receipt.html", receipt=found)


@bp.route("/payments/<uuid:payment_id>/reverse", methods=["GET", "POST"])
@owner_required
def reverse_payment(payment_id: uuid.UUID) -> Page | Response:
    session = db_session()
    found = payment_queries.get_receipt(session, payment_id)
    if found is None:
        abort(404)
    form = ReversalForm()
    error = None
    if request.method == "POST":
        if form.validate() and form.key is not None:
            try:
                ledger.reverse_payment(
                    session,
                    payment_id=payment_id,
                    reason=(form.reason.data or "").strip(),
                    idempotency_key=form.key,
                    user_id=current_user.id,
                )
            except ledger.IdempotencyKeyReused:
                form.renew_key()
            except ledger.AlreadyReversed:
                error = gettext("This payment was already reversed.")
            except ledger.PartlyRefunded as refusal:
                error = (
                    f"{money(refusal.refunded)} of this payment was refunded by a return, "
                    "so it cannot be reversed."
                )
            except ledger.Busy:
                error = gettext(
                    "Another till is busy with this customer. Nothing was recorded; try again."
                )
            except ledger.LedgerError:
                error = gettext("The reversal was not recorded. Check it and try again.")
            else:
                return redirect(url_for("payments.receipt", payment_id=payment_id))
        status = 409 if error else 400
    else:
        status = 200
    page = render_template("corrections/reverse.html", form=form, receipt=found, error=error)
    return page, status
