"""The activity log for owners: newest first, filtered by kind, person, customer (or, from a
product's page, the product) and dates, a page at a time or all of it as CSV. Clerks get 403."""

from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext
from flask_login import current_user
from wtforms import SelectChoice

from webapp.activity import bp, present, queries
from webapp.activity.export import activity_csv
from webapp.activity.forms import ActivityFilterForm
from webapp.activity.log import KIND_LABELS
from webapp.auth.access import owner_required
from webapp.db import db_session
from webapp.inputs import parse_uuid
from webapp.listing import filter_values, requested_page

PAGE_SIZE = 50


def _filters() -> tuple[ActivityFilterForm, queries.ActivityFilter]:
    """The form as asked (?kind=&person=&q=&date_from=&date_to=, and ?customer= or ?product=
    from links); anything that does not parse filters nothing."""
    form = ActivityFilterForm(request.args)
    staff = queries.staff_choices(db_session())
    form.person.choices = [SelectChoice("", gettext("Anyone"))] + [
        SelectChoice(str(user.id), user.name if user.is_active else f"{user.name} (deactivated)")
        for user in staff
    ]
    form.validate()
    kind = form.kind.data if form.kind.data in KIND_LABELS else None
    filters = queries.ActivityFilter(
        **filter_values(form),
        kind=kind,
        user_id=parse_uuid(form.person.data),
        product_id=parse_uuid(request.args.get("product")),
    )
    return form, filters


@bp.app_template_global()
def activity_who(row: object) -> str:
    return present.who(row)


@bp.app_template_global()
def activity_details(row: object) -> str:
    return present.details(row)


@bp.app_template_filter()
def activity_kind(kind: str) -> str:
    return present.kind_label(kind)


@bp.route("/activity")
@owner_required
def index() -> str:
    form, filters = _filters()
    found = queries.list_activity(db_session(), filters, requested_page(PAGE_SIZE))
    return render_template(
        "activity/index.html",
        form=form,
        filters=filters,
        found=found,
        about=queries.subject_name(db_session(), filters.customer_id, filters.product_id),
    )


@bp.route("/activity.csv")
@owner_required
def csv_export() -> Response:
    _, filters = _filters()
    rows = queries.all_activity(db_session(), filters)
    business = current_user.business
    response = Response(activity_csv(rows, business.timezone), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="activity.csv"'
    return response
