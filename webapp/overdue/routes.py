from __future__ import annotations

from dataclasses import replace

from flask import Response, render_template, request
from flask_login import current_user

from webapp import reports
from webapp.db import db_session, replica_reads
from webapp.formatting import local_date, money
from webapp.listing import Page, page_of, requested_page
from webapp.overdue import bp
from webapp.overdue.export import overdue_csv
from webapp.overdue.forms import OverdueFilterForm
from webapp.overdue.reminders import reminder_text, sms_link, whatsapp_link

PAGE_SIZE = 50
LABELS = {"buckets": reports.BUCKETS, "bucket_labels": reports.BUCKET_LABELS}


def _report(*, paged: bool) -> tuple[OverdueFilterForm, reports.OverdueReport, Page | None]:
    form = OverdueFilterForm(request.args)
    page = requested_page(PAGE_SIZE) if paged else None
    report = reports.overdue(
        db_session(),
        **form.values(),
        limit=page.size + 1 if page else None,
        offset=page.offset if page else 0,
    )
    if page is not None:
        shown, page = page_of(report.customers, page)
        report = replace(report, customers=shown)
    return form, report, page


def reminders(customer: reports.OverdueCustomer) -> dict[str, str | None]:
    """The reminder's links and its text, which the page shows (the customer's name in it was
    typed by staff: the owner reads the message before sending it)."""
    text = reminder_text(
        current_user.business.name,
        customer.name,
        money(customer.overdue_amount),
        local_date(customer.oldest_due_on),
    )
    return {
        "whatsapp": whatsapp_link(customer.phone, text),
        "sms": sms_link(customer.phone, text),
        "text": text,  # shown on the links before sending
    }


@bp.route("/overdue")
@replica_reads
def index() -> str:
    form, report, page = _report(paged=True)
    return render_template(
        "overdue/index.html", form=form, report=report, page=page, reminders=reminders, **LABELS
    )


@bp.route("/overdue/print")
@replica_reads
def printable() -> str:
    form, report, _ = _report(paged=False)
    return render_template("overdue/print.html", form=form, report=report, **LABELS)


@bp.route("/overdue.csv")
@replica_reads
def csv_export() -> Response:
    _, report, _ = _report(paged=False)
    response = Response(overdue_csv(report.customers), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="overdue-{report.as_of.isoformat()}.csv"'
    )
    return response
