"""Products: everyone sees the list and a product's page; only owners add, edit, archive and
change stock (clerks get the 403 page, whatever the method)."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import ledger
from webapp.activity.queries import latest_activity
from webapp.auth.access import owner_required
from webapp.db import db_session
from webapp.forms import add_error
from webapp.idempotency import KeyReused
from webapp.inputs import whole_number
from webapp.ledger_messages import said
from webapp.listing import requested_page
from webapp.models import Product
from webapp.products import bp, operations, queries
from webapp.products.forms import (
    STOCK_CHOICES,
    ConfirmForm,
    ProductEditForm,
    ProductForm,
    ProductsFilterForm,
    StockForm,
)

LIST_SIZE = 50
HISTORY_SIZE = 25
MAX_CHANGE = 1_000_000  # the most one delivery or damage may move (the database says the same)
MAX_COUNT = 1_000_000_000


@bp.route("")
def index() -> str:
    form = ProductsFilterForm(request.args)
    form.validate()
    query = (form.q.data or "").strip()[:100]
    products = queries.list_products(
        db_session(),
        requested_page(LIST_SIZE),
        query=query,
        low_stock=bool(form.low.data),
        include_archived=bool(form.archived.data),
    )
    threshold = current_user.business.low_stock_threshold
    return render_template(
        "products/index.html", form=form, products=products, query=query, threshold=threshold
    )


@bp.route("/new", methods=["GET", "POST"])
@owner_required
def new() -> str | Response | tuple[str, int]:
    form = ProductForm()
    if request.method == "GET":
        return render_template("products/form.html", product=None, form=form)
    if not form.validate() or form.key is None:
        return render_template("products/form.html", product=None, form=form), 400
    try:
        outcome = operations.add_product(
            db_session(), request.form, user_id=current_user.id, key=form.key
        )
    except KeyReused:
        form.renew_key()  # the key made another product: this form was out of date
        return render_template("products/form.html", product=None, form=form), 409
    product = outcome.product
    if product is None:
        error = _show_problems(form, outcome.problems)
        return render_template("products/form.html", product=None, form=form, error=error), 400
    if outcome.created:
        flash(gettext("%(name)s added.", name=product.name), "success")
    return redirect(url_for("products.detail", product_id=product.id))


@bp.route("/<uuid:product_id>")
def detail(product_id: uuid.UUID) -> str:
    product = queries.product_or_404(db_session(), product_id)
    return _detail_page(product, StockForm(formdata=None))


def _detail_page(product: Product, stock_form: StockForm, *, error: str | None = None) -> str:
    history, page = queries.stock_history(db_session(), product.id, requested_page(HISTORY_SIZE))
    return render_template(
        "products/detail.html",
        product=product,
        history=history,
        history_page=page,
        reasons=queries.REASON_LABELS,
        stock_form=stock_form,
        stock_error=error,
        confirm=ConfirmForm(formdata=None),
        low=product.is_active and product.stock <= current_user.business.low_stock_threshold,
        # The activity log is the owners' (as /activity is).
        activity=latest_activity(db_session(), product_id=product.id)
        if current_user.is_owner
        else [],
    )


@bp.route("/<uuid:product_id>/edit", methods=["GET", "POST"])
@owner_required
def edit(product_id: uuid.UUID) -> str | Response | tuple[str, int]:
    session = db_session()
    product = queries.product_or_404(session, product_id)
    form = ProductEditForm(obj=product if request.method == "GET" else None)
    if request.method == "GET":
        form.price.data = str(product.price)
        return render_template("products/form.html", form=form, product=product)
    outcome = operations.edit_product(session, product, request.form, actor_id=current_user.id)
    if outcome.product is None:
        error = _show_problems(form, outcome.problems)
        page = render_template("products/form.html", form=form, product=product, error=error)
        return page, 400
    flash(gettext("%(name)s saved.", name=outcome.product.name), "success")
    return redirect(url_for("products.detail", product_id=product.id))


@bp.post("/<uuid:product_id>/archive")
@owner_required
def archive(product_id: uuid.UUID) -> Response:
    return _set_active(product_id, active=False)


@bp.post("/<uuid:product_id>/unarchive")
@owner_required
def unarchive(product_id: uuid.UUID) -> Response:
    return _set_active(product_id, active=True)


def _set_active(product_id: uuid.UUID, *, active: bool) -> Response:
    session = db_session()
    product = queries.product_or_404(session, product_id)
    busy = operations.set_active(session, product, active=active)
    if busy:
        flash(busy, "error")
    elif active:
        flash(gettext("%(name)s is for sale again.", name=product.name), "success")
    else:
        flash(
            gettext("%(name)s is archived: it can no longer be sold.", name=product.name), "success"
        )
    return redirect(url_for("products.detail", product_id=product.id))


@bp.post("/<uuid:product_id>/stock")
@owner_required
def stock(product_id: uuid.UUID) -> Response | tuple[str, int]:
    """A delivery, damage or count: through the ledger, under the product's lock."""
    session = db_session()
    product = queries.product_or_404(session, product_id)
    form = StockForm()
    if not form.validate() or form.key is None:
        return _stock_refused(product, form)
    reason, quantity = _stock_input(form)
    note = (form.note.data or "").strip()
    if len(note) > 500:
        add_error(form.note, gettext("The note is at most 500 characters."))
    if form.errors or quantity is None:
        return _stock_refused(product, form)
    try:
        change = operations.change_stock(
            session,
            product,
            reason=reason,
            quantity=quantity,
            note=note,
            user_id=current_user.id,
            key=form.key,
        )
    except ledger.LedgerError as refusal:
        return _stock_refused(product, form, _explain(refusal, form), status=409)
    except operations.StockTooLarge:
        add_error(form.quantity, gettext("That would make the stock larger than it can be."))
        return _stock_refused(product, form)
    if not change.created:
        flash(
            gettext(
                "That was recorded already. Stock is now %(resulting_stock)s.",
                resulting_stock=change.resulting_stock,
            ),
            "success",
        )
    else:
        what = queries.REASON_LABELS.get(reason, reason)
        matched = " The count matches: nothing changed." if change.change == 0 else ""
        flash(
            gettext(
                "%(what)s recorded.%(matched)s Stock is now %(resulting_stock)s.",
                what=what,
                matched=matched,
                resulting_stock=change.resulting_stock,
            ),
            "success",
        )
    return redirect(url_for("products.detail", product_id=product.id))


def _stock_input(form: StockForm) -> tuple[str, int | None]:
    """The reason, and the quantity as the ledger wants it: what a delivery adds (positive),
    what damage removes (negative), or the stock counted. None, with a message, if unusable."""
    reason = form.reason.data or ""
    if reason not in STOCK_CHOICES:
        add_error(form.reason, gettext("Choose why the stock changes."))
        return reason, None
    counting = reason == "count_correction"
    raw = (form.quantity.data or "").strip()
    if not raw:
        add_error(
            form.quantity,
            gettext("Enter the stock you counted.") if counting else gettext("Enter how many."),
        )
        return reason, None
    number = whole_number(raw)
    if number is None:
        add_error(form.quantity, gettext("Enter a whole number, such as 12."))
        return reason, None
    if counting:
        if number > MAX_COUNT:
            add_error(
                form.quantity,
                gettext("A count is at most %(max_count)s.", max_count=format(MAX_COUNT, ",")),
            )
            return reason, None
        return reason, number
    if number == 0:
        add_error(form.quantity, gettext("Enter how many, from 1 up."))
        return reason, None
    if number > MAX_CHANGE:
        add_error(
            form.quantity,
            gettext("At most %(max_change)s at a time.", max_change=format(MAX_CHANGE, ",")),
        )
        return reason, None
    return reason, -number if reason == "damage" else number


def _explain(refusal: ledger.LedgerError, form: StockForm) -> str | None:
    """Put the ledger's refusal next to its field; return what belongs above the form."""
    match refusal:
        case ledger.InsufficientStock():
            left = refusal.available
            add_error(
                form.quantity,
                gettext("Only %(left)s in stock: that would take the stock below zero.", left=left)
                if left
                else gettext("None in stock: there is nothing to take away."),
            )
        case ledger.InvalidInput() if refusal.field in ("change", "counted"):
            add_error(form.quantity, said(refusal.message))
        case ledger.InvalidInput() if refusal.field in ("reason", "note"):
            add_error(form[refusal.field], said(refusal.message))
        case ledger.NotFound():
            abort(404)
        case ledger.Busy():
            return str(operations.BUSY)
        case _:
            return gettext("The stock was not changed. Check it and try again.")
    return None


def _stock_refused(
    product: Product, form: StockForm, error: str | None = None, *, status: int = 400
) -> tuple[str, int]:
    fresh = queries.get_product(db_session(), product.id) or product
    return _detail_page(fresh, form, error=error), status


def _show_problems(form: ProductForm | ProductEditForm, problems: dict[str, str]) -> str | None:
    """Each message next to its field; one that belongs to none is returned for the top."""
    top = None
    for name, message in problems.items():
        field = getattr(form, name, None) if name else None
        if field is None:
            top = message
        else:
            add_error(field, message)
    return top
