"""The sale form: choose the customer, find products by name, SKU or barcode (a scanner types a
code and Enter), adjust the lines, record. Without JavaScript every step is a POST of the same
form (Find, Add, Remove, Record sale); with it, the script does them in the page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import ledger
from webapp.corrections.rules import may_correct
from webapp.customers import queries as customer_queries
from webapp.customers.chooser import chooser_page
from webapp.customers.operations import no_credit_message
from webapp.db import db_session, replica_reads
from webapp.formatting import money, money_format
from webapp.inputs import parse_amount, parse_uuid, whole_number
from webapp.ledger_messages import said
from webapp.listing import ListFilter, filter_values, requested_page
from webapp.models import Customer, Product
from webapp.products import queries as product_queries
from webapp.products.queries import ProductMatch
from webapp.sales import bp, operations, queries
from webapp.sales.forms import MAX_LINES, Line, SaleDraft, SaleForm, SalesFilterForm
from webapp.sales.queries import Twin

TOO_LONG = f"A sale has at most {MAX_LINES} lines; split it into two sales."
FIND_LIMIT = 10  # matches offered at once; type more to narrow them
Page = tuple[str, int]


@dataclass(frozen=True)
class SaleLineView:
    """A line as the form shows it: what was entered, and the product it names."""

    index: int
    product_id: str
    quantity: str
    error: str | None
    name: str
    price: Decimal | None
    stock: int | None
    total: Decimal | None  # price × quantity, when the quantity is a number

    @property
    def short(self) -> bool:
        """More than the stock shown: flagged before sending."""
        number = whole_number(self.quantity)
        return self.stock is not None and number is not None and number > self.stock

    @classmethod
    def of(cls, index: int, line: Line, product: Product | None) -> SaleLineView:
        number = whole_number(line.quantity)
        price = product.price if product else None
        return cls(
            index,
            line.product_id,
            line.quantity,
            line.error,
            product.name if product else "(unknown product)",
            price,
            product.stock if product else None,
            price * number if price is not None and number is not None else None,
        )


def _product_json(product: ProductMatch) -> dict[str, object]:
    return {
        "id": str(product.id),
        "name": product.name,
        "sku": product.sku,
        "barcode": product.barcode,
        "price": str(product.price),
        "price_text": money(product.price),
        "stock": product.stock,
    }


@bp.get("/lookup")
def lookup() -> Response:
    """For the sale form's script: ?code= the product whose barcode or SKU it is exactly (a
    scanner), or ?q= the best matches of what is typed. Products for sale only."""
    session = db_session()
    code = request.args.get("code", "").strip()
    if code:
        exact = product_queries.product_by_code(session, code)
        found = [exact] if exact is not None else []
    else:
        query = request.args.get("q", "").strip()[:100]
        found = product_queries.search_products(session, query, limit=FIND_LIMIT)
    return jsonify({"products": [_product_json(product) for product in found]})


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response | Page:
    if request.method == "GET" and not request.args.get("customer"):
        return chooser_page(
            title=gettext("New sale"), endpoint="sales.new", verb=gettext("Sell to")
        )
    form = SaleForm()
    session = db_session()
    customer_id = request.args.get("customer") if request.method == "GET" else form.customer_id.data
    customer = customer_queries.customer_or_404(session, customer_id)
    if request.method == "GET":
        form.customer_id.data = str(customer.id)
        return _sale_page(form, customer, SaleDraft())

    draft = SaleDraft.from_request()
    if not form.validate() or form.key is None:
        return _sale_page(form, customer, draft, status=400)
    if added := parse_uuid(request.form.get("add")):
        return _add(form, customer, draft, added)
    if (removed := whole_number(request.form.get("remove"))) is not None:
        draft.remove(removed)
        return _sale_page(form, customer, draft)
    if request.form.get("action") == "find":
        return _find(form, customer, draft, request.form.get("find", "").strip()[:100])
    return _record(form, customer, draft)  # Record sale (also a POST naming no step)


def _add(form: SaleForm, customer: Customer, draft: SaleDraft, product_id: uuid.UUID) -> Page:
    """A product chosen from the matches (the Find button's list, without JavaScript)."""
    product = product_queries.get_product(db_session(), product_id)
    if product is None or not product.is_active:
        draft.error = gettext("That product is not for sale any more.")
        return _sale_page(form, customer, draft, status=409)
    draft.add(product.id)
    return _sale_page(form, customer, draft)


def _find(form: SaleForm, customer: Customer, draft: SaleDraft, wanted: str) -> Page:
    """Find: an exact barcode or SKU adds its product (a scanner types it and Enter); other text
    lists the products it matches, to add one. Empty, it only shows the lines again."""
    if not wanted:
        return _sale_page(form, customer, draft)
    session = db_session()
    exact = product_queries.product_by_code(session, wanted)
    if exact is not None:
        draft.add(exact.id)
        return _sale_page(form, customer, draft)
    matches = product_queries.search_products(session, wanted, limit=FIND_LIMIT)
    problem = (
        None
        if matches
        else gettext("No product has the name, SKU or barcode “%(wanted)s”.", wanted=wanted)
    )
    return _sale_page(form, customer, draft, find=wanted, matches=matches, find_error=problem)


@dataclass
class Override:
    """An owner's "record it anyway" after a refusal for the credit limit."""

    checked: bool
    reason: str
    error: str | None = None

    @classmethod
    def from_request(cls) -> Override | None:
        """The one sent, if an owner sent one (a clerk's is ignored: only owners are offered it,
        and the ledger refuses a clerk's override in any case)."""
        if not current_user.is_owner or "override_reason" not in request.form:
            return None
        reason = request.form.get("override_reason", "").strip()[:500]
        return cls(request.form.get("override") == "yes", reason)

    @property
    def reason_to_send(self) -> str | None:
        return self.reason if self.checked and self.reason else None


def _record(form: SaleForm, customer: Customer, draft: SaleDraft) -> Page | Response:
    override = Override.from_request()
    if override and override.checked and not override.reason:
        override.error = gettext("Say why this sale may go over the limit.")
        draft.error = gettext("Not recorded: an override needs a reason.")
        return _sale_page(form, customer, draft, override=override, status=400)
    typed_amount = request.form.get("amount", "").strip()
    note = request.form.get("note", "").strip()
    amount = parse_amount(typed_amount) if typed_amount else None
    quick = {"amount": typed_amount, "note": note}
    if typed_amount and draft.lines:
        draft.error = "A sale is either products or an amount: remove the lines or the amount."
    elif typed_amount and amount is None:
        quick["amount_error"] = gettext("Enter an amount like 12.50.")
    elif not draft.lines and amount is None:
        draft.error = gettext("Add a product (type its name, SKU or barcode), or enter an amount.")
    elif draft.too_long:
        draft = SaleDraft(draft.lines[:MAX_LINES], error=TOO_LONG)
    if draft.error or "amount_error" in quick or form.key is None:
        return _sale_page(form, customer, draft, quick=quick, status=400)
    try:
        sale = operations.record_sale(
            db_session(),
            customer_id=customer.id,
            lines=draft.for_ledger(),
            key=form.key,
            user_id=current_user.id,
            amount=amount,
            note=note,
            repeat_of=parse_uuid(request.form.get("repeat_of")),
            override_reason=override.reason_to_send if override else None,
        )
    except ledger.IdempotencyKeyReused:
        form.renew_key()  # the key recorded another sale: this form was out of date
        return _sale_page(form, customer, draft, quick=quick, status=409)
    except operations.LooksLikeARepeat as repeat:
        return _sale_page(form, customer, draft, quick=quick, repeat=repeat.twin, status=409)
    except ledger.CreditLimitExceeded as refusal:
        _explain(refusal, draft, customer, quick)
        if current_user.is_owner:
            override = override or Override(False, "")
        return _sale_page(form, customer, draft, quick=quick, override=override, status=409)
    except ledger.LedgerError as refusal:
        _explain(refusal, draft, customer, quick)
        return _sale_page(form, customer, draft, quick=quick, override=override, status=409)
    return redirect(url_for("sales.receipt", order_id=sale.order_id))


def _explain(
    refusal: ledger.LedgerError, draft: SaleDraft, customer: Customer, quick: dict[str, str]
) -> None:
    """A refusal in the clerk's words: next to every line (or quick-entry field) it concerns,
    with one summary on top."""
    match refusal:
        case ledger.InsufficientStock():
            for short in refusal.lines:
                left = short.available
                message = (
                    gettext("Only %(left)s left in stock.", left=left)
                    if left
                    else gettext("Out of stock.")
                )
                draft.fault(None, short.product_id, message)
            count = len(refusal.lines)
            draft.error = ngettext(
                "Not recorded: %(num)s line is short of stock.",
                "Not recorded: %(num)s lines are short of stock.",
                count,
            )
        case ledger.CreditLimitExceeded():
            draft.error = gettext(
                "Not recorded: this sale would take %(name)s over the credit "
                "limit. Available credit is %(available_credit)s.",
                name=customer.name,
                available_credit=money(refusal.available_credit),
            )
        case ledger.NotFound():
            draft.fault(None, refusal.id, gettext("This product is not for sale any more."))
            draft.error = gettext("Not recorded: a product is not for sale any more.")
        case ledger.InvalidInput() if refusal.field in ("amount", "note"):
            quick[f"{refusal.field}_error"] = said(refusal.message)
            draft.error = gettext("Not recorded: check the amount and the note.")
        case ledger.InvalidInput():
            for line, message in refusal.lines or [(refusal.line or 0, refusal.message)]:
                draft.fault(line, None, said(message))
            draft.error = gettext("Not recorded: check the lines marked below.")
        case ledger.CustomerArchived():
            draft.error = gettext(
                "Not recorded: %(name)s is archived and cannot buy on credit.", name=customer.name
            )
        case ledger.Busy():
            draft.error = gettext(
                "Another till is busy with this customer. Nothing was recorded; try again."
            )
        case _:
            draft.error = gettext("The sale was not recorded. Check it and try again.")


def _sale_page(
    form: SaleForm,
    customer: Customer,
    draft: SaleDraft,
    *,
    find: str = "",
    matches: list[ProductMatch] | None = None,
    find_error: str | None = None,
    quick: dict[str, str] | None = None,
    repeat: Twin | None = None,
    override: Override | None = None,
    status: int = 200,
) -> Page:
    ids = [line.product for line in draft.lines if line.product is not None]
    products = queries.products_by_id(db_session(), ids)
    lines = [
        SaleLineView.of(index, line, products.get(line.product) if line.product else None)
        for index, line in enumerate(draft.lines)
    ]
    page = render_template(
        "sales/new.html",
        form=form,
        customer=customer,
        lines=lines,
        total=sum((line.total for line in lines if line.total is not None), Decimal("0.00")),
        error=draft.error,
        find=find,
        matches=matches or [],
        find_error=find_error,
        quick=quick or {},
        repeat=repeat,
        override=override,
        no_credit=no_credit_message(customer),
        money_format=money_format(),
    )
    return page, status


@bp.route("/<uuid:order_id>")
def receipt(order_id: uuid.UUID) -> str:
    found = queries.get_receipt(db_session(), order_id)
    if found is None:
        abort(404)
    return render_template(
        "sales/receipt.html", receipt=found, can_correct=may_correct(found.order)
    )


@bp.route("")
@replica_reads
def index() -> str:
    form = SalesFilterForm(request.args)
    form.validate()
    filters = ListFilter(**filter_values(form))
    sales = queries.list_sales(db_session(), filters, requested_page())
    return render_template("sales/index.html", form=form, sales=sales, filters=filters)
