from __future__ import annotations

from dataclasses import replace

from flask import Response, render_template, request
from flask_login import current_user

from webapp import reports
from webapp.db import db_session, replica_reads
from webapp.listing import Page, page_of, requested_page
from webapp.overdue import bp
from webapp.overdue.export import XLSX_TYPE, overdue_csv, overdue_xlsx
from webapp.overdue.forms import OverdueFilterForm
from webapp.reminders.compose import Composed, compose, last_reminders

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
    if page is not None and page.number > _pages(report.count):
        # Past the last page (the list got shorter, or a typed address): show the last one.
        page = Page(_pages(report.count), PAGE_SIZE)
        report = reports.overdue(
            db_session(), **form.values(), limit=page.size + 1, offset=page.offset
        )
    if page is not None:
        shown, page = page_of(report.customers, page)
        report = replace(report, customers=shown)
    return form, report, page


def _pages(count: int) -> int:
    return max(1, -(-count // PAGE_SIZE))


def reminders(customer: reports.OverdueCustomer) -> Composed:
    """The reminder's text, shown on its buttons before sending (the customer's name in it was
    typed by staff: the owner reads the message before sending it), and whether each channel
    can be offered. Pressing one records it (webapp.reminders) and then opens it."""
    return compose(
        current_user.business,
        customer.name,
        customer.phone,
        customer.overdue_amount,
        customer.oldest_due_on,
    )


@bp.route("/overdue")
@replica_reads
def index() -> str:
    form, report, page = _report(paged=True)
    return render_template(
        "overdue/index.html",
        form=form,
        report=report,
        page=page,
        pages=_pages(report.count),
        reminders=reminders,
        last_reminders=last_reminders(db_session(), [c.id for c in report.customers]),
        **LABELS,
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


@bp.route("/overdue.xlsx")
def xlsx_export() -> Response:
    """The file for people: an Excel workbook with typed cells (see export.overdue_xlsx)."""
    _, report, _ = _report(paged=False)
    workbook = overdue_xlsx(report, current_user.business.currency)
    response = Response(workbook, mimetype=XLSX_TYPE)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="overdue-{report.as_of.isoformat()}.xlsx"'
    )
    return response
