"""Customers: the list, adding and editing, archiving, and each customer's page and statement.

Anyone signed in may add and edit a customer's details; only owners set credit limits, opening
balances and archive (an archived customer cannot buy on credit, so it is a credit decision).

A new customer's form carries an idempotency key made when the form is rendered, and that key
becomes the new customer's id (`operations.add_customer`): a form sent twice (a double click, a
resend after a timeout) lands on the one customer it made. Editing needs no key: saving the
same details twice changes nothing more than saving them once.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import ledger, reports
from webapp.activity.queries import latest_activity
from webapp.auth.access import owner_required
from webapp.customers import bp, operations, queries
from webapp.customers.forms import (
    LIMIT_REASON_MAX,
    SORT_LABELS,
    ConfirmForm,
    CustomerForm,
    CustomersFilterForm,
    StatementPeriodForm,
)
from webapp.customers.queries import customer_or_404
from webapp.db import db_session, replica_reads
from webapp.formatting import money
from webapp.forms import add_error
from webapp.idempotency import KeyReused
from webapp.inputs import limited, text_field
from webapp.listing import requested_page
from webapp.models import Customer
from webapp.reminders.compose import last_reminders
from webapp.reminders.operations import compose_for
from webapp.share.queries import customer_page as shared_links

PAGE_SIZE = 50
DETAIL_FIELDS = ("name", "phone", "email", "notes")
# Clicking a column heading sorts by it; clicking it again turns the order round.
NEXT_SORT = {
    "name": {"name": "name_desc"},
    "balance": {"balance_desc": "balance"},
}
STATEMENT_DAYS = 90  # the period a statement covers unless another is asked for


def _period(form: StatementPeriodForm, today: date) -> tuple[date, date]:
    """The dates asked for, else the last 90 days; a reversed range is turned round."""
    date_to = form.date_to.data if not form.date_to.errors and form.date_to.data else today
    date_from = (
        form.date_from.data
        if not form.date_from.errors and form.date_from.data
        else max(date_to, date.min + timedelta(days=STATEMENT_DAYS))
        - timedelta(days=STATEMENT_DAYS)
    )
    return (date_from, date_to) if date_from <= date_to else (date_to, date_from)


def _statement_context(customer: Customer) -> dict[str, object]:
    session = db_session()
    form = StatementPeriodForm(request.args)
    form.validate()
    date_from, date_to = _period(form, reports.business_today(session))
    form.date_from.data, form.date_to.data = date_from, date_to
    return {
        "customer": customer,
        "form": form,
        "statement": reports.statement(session, customer.id, date_from, date_to),
    }


@bp.route("/<uuid:customer_id>")
def detail(customer_id: uuid.UUID) -> str:
    customer = customer_or_404(db_session(), customer_id, archived_too=True)
    sales = reports.open_sales(db_session(), customer_id)
    return render_template(
        "customers/detail.html",
        open_sales=sales,
        overdue=reports.overdue_amount(sales),
        reminder=compose_for(current_user.business, customer, sales),
        last_reminder=last_reminders(db_session(), [customer.id]).get(customer.id),
        confirm=ConfirmForm(),
        credit_message=operations.no_credit_message(customer),
        # The activity log is the owners' (as /activity is).
        activity=latest_activity(db_session(), customer_id=customer_id)
        if current_user.is_owner
        else [],
        **_statement_context(customer),
        **shared_links(db_session(), customer_id),
    )


@bp.route("/<uuid:customer_id>/statement")
@replica_reads
def statement(customer_id: uuid.UUID) -> str:
    customer = customer_or_404(db_session(), customer_id, archived_too=True)
    return render_template("customers/statement_print.html", **_statement_context(customer))


def _sort_links(values: dict[str, object]) -> dict[str, str]:
    """The column headings' links: the same search, sorted by that column."""
    # Only the list's own filters are carried over (never names url_for would act on).
    args: dict[str, Any] = {
        key: request.args[key] for key in ("q", "archived") if request.args.get(key)
    }
    current = str(values["sort"])
    links = {}
    for column, toggles in NEXT_SORT.items():
        sort = toggles.get(current, next(iter(toggles)))
        links[column] = url_for("customers.index", **args, sort=sort)
    return links


@bp.route("")
@replica_reads
def index() -> str:
    form = CustomersFilterForm(request.args)
    form.validate()
    values = form.values()
    form.sort.data = values["sort"]
    customers = queries.list_customers(
        db_session(),
        requested_page(PAGE_SIZE),
        query=str(values["query"]),
        sort=str(values["sort"]),
        include_archived=bool(values["include_archived"]),
    )
    return render_template(
        "customers/index.html",
        form=form,
        customers=customers,
        values=values,
        sort_links=_sort_links(values),
        sort_label=SORT_LABELS[str(values["sort"])],
    )


def _customer_form(*, creating: bool, customer: Customer | None = None) -> CustomerForm:
    """The form for this user: the credit limit (and, for a new customer, the opening balance)
    only for owners; what a clerk's request carries in those fields is never read."""
    form = CustomerForm(obj=customer)
    if creating and current_user.is_owner and request.method == "GET":
        form.credit_limit.data = str(operations.default_credit_limit(db_session()))
    if not current_user.is_owner:
        del form.credit_limit
        del form.opening_balance
        del form.limit_reason
    elif not creating:
        del form.opening_balance
    else:
        del form.limit_reason  # a new customer's limit is no change of one
    if not creating:
        del form.idempotency_key  # saving the same details twice changes nothing more
    return form


def _read(form: CustomerForm) -> tuple[operations.CustomerFields | None, Decimal, str]:
    """The checked values of the fields this user may fill in (and the opening balance, and
    why the limit changes), with any message put next to its field; None when anything was
    wrong."""
    names = [*DETAIL_FIELDS, *(["credit_limit"] if form.credit_limit else [])]
    raw = {name: request.form.get(name) for name in names}
    fields, problems = operations.customer_fields(raw, with_limit=form.credit_limit is not None)
    opening = Decimal("0.00")
    if form.opening_balance:
        opening = operations.opening_balance(request.form, problems)
    reason = ""
    if form.limit_reason:
        reason = limited(
            text_field(request.form, "limit_reason"),
            "limit_reason",
            gettext("The reason"),
            LIMIT_REASON_MAX,
            problems,
        )
    valid = form.validate()  # the CSRF token and the form's key, and fresh error lists
    for name, message in problems.items():
        add_error(form[name], message)
    return (fields if valid and not problems else None), opening, reason


def _form_page(
    form: CustomerForm,
    customer: Customer | None = None,
    error: str | None = None,
    *,
    status: int = 200,
) -> tuple[str, int]:
    page = render_template(
        "customers/form.html",
        form=form,
        customer=customer,
        then=_then(),
        error=error,
        over_limit=operations.over_limit_message(customer) if customer else None,
        default_limit=None if customer else operations.default_credit_limit(db_session()),
    )
    return page, status


def _then() -> str | None:
    """Where a new customer goes once added: "sale" (the sale form, from its chooser) or, by
    default, their page. One fixed word, never a URL."""
    return "sale" if request.args.get("then") == "sale" else None


@bp.route("/new", methods=["GET", "POST"])
def new() -> tuple[str, int] | Response:
    form = _customer_form(creating=True)
    if request.method == "GET":
        return _form_page(form)
    fields, opening, _ = _read(form)
    if fields is None or form.key is None:
        return _form_page(form, status=400)
    try:
        customer, created = operations.add_customer(
            db_session(), fields, user_id=current_user.id, key=form.key, opening=opening
        )
    except KeyReused:
        form.renew_key()  # the key made another customer: this form was out of date
        return _form_page(form, status=409)
    except ledger.CreditLimitExceeded as refusal:
        add_error(
            form.opening_balance,
            gettext(
                "The opening balance is more than the credit limit allows "
                "(%(available_credit)s). Raise the credit limit or enter "
                "less.",
                available_credit=money(refusal.available_credit),
            ),
        )
        return _form_page(form, status=409)
    except ledger.LedgerError:
        problem = gettext("The customer was not saved. Check the form and try again.")
        return _form_page(form, error=problem, status=409)
    if created:
        flash(gettext("%(name)s was added.", name=customer.name), "success")
    else:  # the same form sent again, or twice at once
        flash(gettext("This customer was saved already; here they are."), "success")
    if _then() == "sale":
        return redirect(url_for("sales.new", customer=customer.id))
    return redirect(url_for("customers.detail", customer_id=customer.id))


@bp.route("/<uuid:customer_id>/edit", methods=["GET", "POST"])
def edit(customer_id: uuid.UUID) -> tuple[str, int] | Response:
    session = db_session()
    customer = customer_or_404(session, customer_id, archived_too=True)
    if customer.erased_at is not None:
        flash(
            gettext("This customer's details were erased on their request; they cannot be edited.")
        )
        return redirect(url_for("customers.detail", customer_id=customer.id))
    form = _customer_form(creating=False, customer=customer)
    if request.method == "GET":
        return _form_page(form, customer)
    fields, _, reason = _read(form)
    if fields is None:
        return _form_page(form, customer, status=400)
    operations.edit_customer(session, customer, fields, actor_id=current_user.id, reason=reason)
    flash(gettext("%(name)s's details were saved.", name=customer.name), "success")
    warning = operations.over_limit_message(customer)
    if warning:
        flash(warning, "error")
    return redirect(url_for("customers.detail", customer_id=customer.id))


def _set_archived(customer_id: uuid.UUID, archived: bool) -> Response:
    session = db_session()
    customer = customer_or_404(session, customer_id, archived_too=True)
    ConfirmForm().validate()  # the CSRF token (checked before the view as well)
    operations.set_archived(session, customer, archived=archived)
    if archived:
        flash(
            gettext(
                "%(name)s is archived: they cannot buy on credit and are "
                "hidden from the lists, but they can still pay what they owe.",
                name=customer.name,
            ),
            "success",
        )
    else:
        flash(
            gettext("%(name)s is back: they can buy on credit again.", name=customer.name),
            "success",
        )
    return redirect(url_for("customers.detail", customer_id=customer.id))


@bp.get("/<uuid:customer_id>/export.json")
@owner_required
def export(customer_id: uuid.UUID) -> Response:
    """Everything held about the customer, for them (a data-access request)."""
    session = db_session()
    customer = customer_or_404(session, customer_id, archived_too=True)
    body = json.dumps(queries.export_customer(session, customer), indent=2, ensure_ascii=False)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="customer-{customer.id}.json"'},
    )


@bp.post("/<uuid:customer_id>/erase")
@owner_required
def erase(customer_id: uuid.UUID) -> Response:
    """Erase the customer's personal data on their request (once they owe nothing)."""
    session = db_session()
    customer = customer_or_404(session, customer_id, archived_too=True)
    ConfirmForm().validate()  # the CSRF token (checked before the view as well)
    try:
        operations.erase_customer(session, customer)
    except operations.StillOwes as refusal:
        flash(refusal.message, "error")
    else:
        flash(
            gettext(
                "Their name, phone, email and notes were erased; their sales and payments stay."
            )
        )
    return redirect(url_for("customers.detail", customer_id=customer_id))


@bp.post("/<uuid:customer_id>/archive")
@owner_required
def archive(customer_id: uuid.UUID) -> Response:
    return _set_archived(customer_id, True)


@bp.post("/<uuid:customer_id>/unarchive")
@owner_required
def unarchive(customer_id: uuid.UUID) -> Response:
    return _set_archived(customer_id, False)
