"""The owners' reports: /reports (the list), /reports/sales, /reports/collections,
/reports/owed and /reports/customers. Each is a table with a chart drawn on the server, a
CSV of the same rows, and prints on A4. Clerks get the "Not allowed" page."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date

from babel.dates import format_date
from flask import make_response, render_template, request
from flask_babel import gettext
from werkzeug.wrappers import Response

from webapp.auth.access import owner_required
from webapp.db import db_session
from webapp.formatting import local_date, money
from webapp.insights import bp, charts, queries
from webapp.insights.period import Period, parse_period
from webapp.ledger import PAYMENT_METHODS
from webapp.locales import shop_locale
from webapp.overdue.export import neutralise
from webapp.reports import business_today


def _period() -> Period:
    return parse_period(request.args.to_dict(), business_today(db_session()))


def period_label(start: date, period: Period) -> str:
    """A period as people say it: a day, "Week of 30 Nov 2026" or "November 2026"."""
    if period.by == "month":
        return str(format_date(start, "LLLL yyyy", locale=shop_locale()))
    if period.by == "week":
        return str(gettext("Week of %(day)s", day=local_date(max(start, period.starts))))
    return local_date(start)


def short_label(start: date, period: Period) -> str:
    """The same, short enough to go under a column."""
    if period.by == "month":
        return format_date(start, "MMM yy", locale=shop_locale())
    return format_date(max(start, period.starts), "d MMM", locale=shop_locale())


def _status(period: Period) -> int:
    return 400 if period.errors else 200


def _csv(name: str, header: list[str], rows: Iterable[list[object]]) -> Response:
    """UTF-8 with a byte order mark (Excel on Windows reads it right), plain numbers, and no
    cell a spreadsheet would run as a formula."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) if isinstance(cell, str) else cell for cell in row])
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _refused_csv(period: Period) -> Response:
    response = make_response(" ".join(period.errors.values()) + "\n", 400)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


@bp.route("")
@owner_required
def index() -> str:
    return render_template("insights/index.html")


# --- Sales ---------------------------------------------------------------------------------


def _product_name(product: queries.ProductSales) -> str:
    return product.name if product.name is not None else gettext("Without items (quick entries)")


@bp.route("/sales")
@owner_required
def sales() -> tuple[str, int]:
    period = _period()
    report = queries.sales_report(db_session(), period)
    chart = charts.column_chart(
        [short_label(p.period, period) for p in report.periods],
        [[p.net] for p in report.periods],
        [("series-0", gettext("Sales less returns"))],
        [f"{period_label(p.period, period)}: {money(p.net)}" for p in report.periods],
    )
    best = report.products[:10]
    products_chart = charts.bar_chart([(_product_name(p), p.net) for p in best])
    page = render_template(
        "insights/sales.html",
        period=period,
        report=report,
        chart=chart,
        products_chart=products_chart,
        best=best,
        product_name=_product_name,
        period_label=period_label,
    )
    return page, _status(period)


@bp.route("/sales.csv")
@owner_required
def sales_csv() -> Response:
    period = _period()
    if period.errors:
        return _refused_csv(period)
    report = queries.sales_report(db_session(), period)
    rows: list[list[object]] = [
        ["period", p.period.isoformat(), "", p.sales, p.sold, p.returns, p.returned, p.net]
        for p in report.periods
    ]
    rows += [
        [
            "product",
            _product_name(p),
            p.sku or "",
            p.sold_quantity,
            p.sold,
            p.returned_quantity,
            p.returned,
            p.net,
        ]
        for p in report.products
    ]
    header = [
        "row",
        "period or product",
        "sku",
        "sales or quantity sold",
        "sold",
        "returns or quantity returned",
        "returned",
        "net",
    ]
    return _csv(f"sales-{period.starts}-{period.ends}", header, rows)


# --- Collections ---------------------------------------------------------------------------


def _method_classes() -> list[tuple[str, str]]:
    """Each payment method's chart class and its name in the reader's language."""
    return [(f"series-{i}", str(label)) for i, label in enumerate(PAYMENT_METHODS.values())]


@bp.route("/collections")
@owner_required
def collections() -> tuple[str, int]:
    period = _period()
    report = queries.collections_report(db_session(), period)
    chart = charts.column_chart(
        [short_label(p.period, period) for p in report.periods],
        [[m.kept for m in p.methods.values()] for p in report.periods],
        _method_classes(),
        [f"{period_label(p.period, period)}: {money(p.kept)}" for p in report.periods],
    )
    page = render_template(
        "insights/collections.html",
        period=period,
        report=report,
        chart=chart,
        methods=PAYMENT_METHODS,
        period_label=period_label,
    )
    return page, _status(period)


@bp.route("/collections.csv")
@owner_required
def collections_csv() -> Response:
    period = _period()
    if period.errors:
        return _refused_csv(period)
    report = queries.collections_report(db_session(), period)
    rows = [
        [
            p.period.isoformat(),
            method,
            s.payments,
            s.received,
            s.reversals,
            s.reversed,
            s.kept,
            s.refunds,
            s.refunded,
        ]
        for p in report.periods
        for method, s in p.methods.items()
        if s.payments or s.refunds
    ]
    header = [
        "period",
        "method",
        "payments",
        "received",
        "reversed since",
        "reversed",
        "kept",
        "refunds",
        "refunded",
    ]
    return _csv(f"collections-{period.starts}-{period.ends}", header, rows)


# --- What is owed, by age ------------------------------------------------------------------


def _age_names() -> list[str]:
    return [
        gettext("Not yet due"),
        gettext("1–30 days"),
        gettext("31–60 days"),
        gettext("61–90 days"),
        gettext("Over 90 days"),
    ]


@bp.route("/owed")
@owner_required
def owed() -> tuple[str, int]:
    period = _period()
    report = queries.owed_report(db_session(), period)
    names = _age_names()
    chart = charts.column_chart(
        [
            short_label(p.point, period) if period.by == "day" else short_label(start, period)
            for p, start in zip(report.points, period.period_starts(), strict=True)
        ],
        [p.buckets for p in report.points],
        [(f"age-{i}", name) for i, name in enumerate(names)],
        [f"{local_date(p.point)}: {money(p.total)}" for p in report.points],
    )
    page = render_template(
        "insights/owed.html",
        period=period,
        report=report,
        chart=chart,
        age_names=names,
    )
    return page, _status(period)


@bp.route("/owed.csv")
@owner_required
def owed_csv() -> Response:
    period = _period()
    if period.errors:
        return _refused_csv(period)
    report = queries.owed_report(db_session(), period)
    rows = [[p.point.isoformat(), *p.buckets, p.total] for p in report.points]
    header = [
        "at the end of",
        "not yet due",
        "1-30 days",
        "31-60 days",
        "61-90 days",
        "over 90 days",
        "total",
    ]
    return _csv(f"owed-by-age-{period.starts}-{period.ends}", header, rows)


# --- Who owes the most ---------------------------------------------------------------------


@bp.route("/customers")
@owner_required
def customers() -> str:
    top = queries.top_customers(db_session())
    chart = charts.bar_chart([(c.name, c.balance) for c in top.customers[:10]])
    return render_template(
        "insights/customers.html",
        top=top,
        chart=chart,
        today=business_today(db_session()),
    )


@bp.route("/customers.csv")
@owner_required
def customers_csv() -> Response:
    top = queries.top_customers(db_session())
    rows = [
        [
            c.name,
            c.phone or "",
            c.balance,
            c.credit_limit,
            c.oldest_open_due_on.isoformat() if c.oldest_open_due_on else "",
        ]
        for c in top.customers
    ]
    header = ["customer", "phone", "balance", "credit limit", "oldest due date open"]
    return _csv("top-customers", header, rows)
