"""The cash-up, /reports/day: one day's payments by method and by person, refunds, sales on
credit, quick entries, the net change in what is owed, the lists behind each figure (printable:
the summary on one A4 page, the lists after it; CSV), and counting the drawer. Owners see
everyone (or one person); a clerk sees their own."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

from flask import redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from webapp.cashup import bp, operations, queries
from webapp.cashup.forms import DayForm, DrawerCountForm
from webapp.db import db_session
from webapp.forms import add_error, date_problem
from webapp.idempotency import KeyReused
from webapp.inputs import money_field, parse_uuid
from webapp.ledger import PAYMENT_METHODS
from webapp.models import User
from webapp.overdue.export import neutralise
from webapp.reports import business_today


def _day_and_person(form: DayForm) -> tuple[date, uuid.UUID | None]:
    """The day asked for (today in the shop's timezone by default; a day that does not parse,
    or one still to come, is said next to the field and today is shown), and whose: a clerk's
    own, always; an owner's choice, everyone by default."""
    today = business_today(db_session())
    form.validate()
    day = form.date.data if not form.date.errors and form.date.data else today
    if form.date.errors:
        form.date.errors = [date_problem()]
    elif day > today:
        add_error(form.date, gettext("That day has not come yet."))
        day = today
    form.date.data = day
    if not current_user.is_owner:
        return day, current_user.id
    people = db_session().execute(select(User.id, User.name).order_by(User.name)).all()
    form.person.choices = [SelectChoice("", gettext("Everyone"))] + [
        SelectChoice(str(person_id), name) for person_id, name in people
    ]
    chosen = parse_uuid(form.person.data)
    return day, chosen if chosen in {person_id for person_id, _ in people} else None


@bp.route("/day", methods=["GET"])
def day() -> tuple[str, int]:
    form = DayForm(request.args)
    day, person = _day_and_person(form)
    count_form = DrawerCountForm(formdata=None)
    count_form.day.data = day.isoformat()
    return _page(form, day, person, count_form)


def _page(
    form: DayForm,
    day: date,
    person: uuid.UUID | None,
    count_form: DrawerCountForm,
    status: int = 200,
) -> tuple[str, int]:
    figures = queries.cash_up(db_session(), day, person)
    page = render_template(
        "cashup/day.html",
        form=form,
        figures=figures,
        methods=PAYMENT_METHODS,
        count_form=count_form,
        own=person == current_user.id,
        today=business_today(db_session()),
    )
    return page, status


@bp.route("/day/count", methods=["POST"])
def count() -> Response | tuple[str, int]:
    """The signed-in person's count of their own drawer for the day of the page."""
    count_form = DrawerCountForm()
    form = DayForm(request.args)
    day = date.fromisoformat(count_form.day.data) if _is_day(count_form.day.data) else None
    valid = count_form.validate()
    problems: dict[str, str] = {}
    counted = money_field(count_form.counted.data, gettext("The cash counted"), problems, "counted")
    float_amount = money_field(
        count_form.float_amount.data, gettext("The float"), problems, "float_amount"
    )
    for name, message in problems.items():
        add_error(count_form[name], message)
    today = business_today(db_session())
    if day is None or day > today:
        count_form.form_errors.append(gettext("Choose a day up to today."))
    if not valid or problems or day is None or day > today or count_form.key is None:
        shown = day if day and day <= today else today
        form.date.data = shown
        return _page(form, shown, current_user.id, count_form, 400)
    try:
        operations.record_count(
            db_session(),
            business_id=current_user.business_id,
            day=day,
            user_id=current_user.id,
            float_amount=float_amount,
            counted=counted,
            note=(count_form.note.data or "").strip(),
            key=count_form.key,
        )
    except KeyReused:
        count_form.renew_key()
        form.date.data = day
        return _page(form, day, current_user.id, count_form, 409)
    target = url_for("cashup.day", date=day.isoformat(), person=current_user.id)
    return redirect(target + "#drawer")


def _is_day(value: str | None) -> bool:
    try:
        date.fromisoformat(value or "")
    except ValueError:
        return False
    return True


@bp.route("/day.csv")
def day_csv() -> Response:
    """The lists behind the figures, one row each (plain numbers, ISO times; nothing a
    spreadsheet would run)."""
    form = DayForm(request.args)
    day, person = _day_and_person(form)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["What", "Number", "Time", "Customer", "By", "Method", "Amount", "Note"])
    for line in queries.cash_up(db_session(), day, person).lines():
        writer.writerow(
            [
                line.what,
                line.number,
                line.at.isoformat(),
                neutralise(line.customer),
                neutralise(line.by),
                line.method,
                f"{line.amount:.2f}",
                neutralise(line.note),
            ]
        )
    response = Response(out.getvalue(), mimetype="text/csv")
    name = f"cash-up-{day.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
