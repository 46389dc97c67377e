from __future__ import annotations

import uuid
from datetime import date, timedelta

from flask import render_template, request

from webapp import reports
from webapp.customers import bp
from webapp.customers.forms import StatementPeriodForm
from webapp.customers.queries import customer_or_404
from webapp.db import db_session

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


def _statement_context(customer_id: uuid.UUID) -> dict[str, object]:
    session = db_session()
    customer = customer_or_404(session, customer_id, archived_too=True)
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
    context = _statement_context(customer_id)
    sales = reports.open_sales(db_session(), customer_id)
    return render_template(
        "customers/detail.html",
        open_sales=sales,
        overdue=reports.overdue_amount(sales),
        **context,
    )


@bp.route("/<uuid:customer_id>/statement")
def statement(customer_id: uuid.UUID) -> str:
    return render_template("customers/statement_print.html", **_statement_context(customer_id))
