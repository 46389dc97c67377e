from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import ledger
from webapp.customers import queries as customer_queries
from webapp.db import db_session
from webapp.formatting import money
from webapp.inputs import parse_uuid
from webapp.listing import ListFilter, filter_values, requested_page
from webapp.models import Customer
from webapp.sales import bp, queries
from webapp.sales.forms import EMPTY_ROWS, MAX_ROWS, SaleForm, SalesFilterForm

WHOLE_NUMBER = re.compile(r"\d{1,9}")


@dataclass
class ItemRow:
    product_id: str = ""
    quantity: str = "1"
    error: str | None = None


@dataclass
class SaleDraft:
    """What the clerk entered, as it is shown again next to any refusal."""

    rows: list[ItemRow]
    error: str | None = None
    sent: list[int] = field(default_factory=list)  # form row of each line sent to the ledger

    @classmethod
    def from_request(cls) -> SaleDraft:
        products = request.form.getlist("product")
        quantities = request.form.getlist("quantity")
        rows = [
            ItemRow(product.strip(), quantity.strip())
            for product, quantity in zip(products, quantities, strict=False)
        ]
        return cls(rows)

    @property
    def too_long(self) -> bool:
        return sum(1 for row in self.rows if row.product_id) > MAX_ROWS

    def padded(self, extra: int = 0) -> list[ItemRow]:
        wanted = min(max(len(self.rows), EMPTY_ROWS) + extra, MAX_ROWS)
        return self.rows + [ItemRow() for _ in range(wanted - len(self.rows))]

    def lines(self) -> list[ledger.Line]:
        """Rows with a product chosen; a quantity that is not a plain number goes as typed,
        so the ledger refuses it with its one message."""
        lines = []
        self.sent = []
        for index, row in enumerate(self.rows):
            if not row.product_id:
                continue
            quantity: int | str = (
                int(row.quantity) if WHOLE_NUMBER.fullmatch(row.quantity) else row.quantity
            )
            lines.append(ledger.Line(row.product_id, quantity))
            self.sent.append(index)
        return lines

    def fault(self, line: int | None, product_id: uuid.UUID | None, message: str) -> None:
        """Put the message next to the row at fault, or on the form when none is."""
        index = None
        if line is not None and 1 <= line <= len(self.sent):
            index = self.sent[line - 1]
        elif product_id is not None:
            index = next(
                (i for i, row in enumerate(self.rows) if parse_uuid(row.product_id) == product_id),
                None,
            )
        if index is None:
            self.error = message
        else:
            self.rows[index].error = message


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response | tuple[str, int]:
    session = db_session()
    form = SaleForm()
    if request.method == "GET":
        if not request.args.get("customer"):
            query = request.args.get("q", "").strip()[:100]
            customers = customer_queries.find_customers(session, query)
            return render_template(
                "customers/choose.html",
                q=query,
                customers=customers,
                title="New sale",
                endpoint="sales.new",
                verb="Sell to",
            )
        customer = customer_queries.customer_or_404(db_session(), request.args.get("customer"))
        form.customer_id.data = str(customer.id)
        form.idempotency_key.data = str(uuid.uuid4())
        return _sale_page(form, customer, SaleDraft([]))

    customer = customer_queries.customer_or_404(db_session(), form.customer_id.data)
    draft = SaleDraft.from_request()
    key = parse_uuid(form.idempotency_key.data)
    if key is None:
        form.idempotency_key.data = str(uuid.uuid4())
        draft.error = "This form was out of date; check it and record the sale again."
        return _sale_page(form, customer, draft, status=400)
    if "more_rows" in request.form:
        return _sale_page(form, customer, draft, extra_rows=EMPTY_ROWS)

    if draft.too_long:
        draft.rows = draft.rows[:MAX_ROWS]
        draft.error = f"A sale has at most {MAX_ROWS} lines; split it into two sales."
        return _sale_page(form, customer, draft, status=400)
    lines = draft.lines()
    if not lines:
        draft.error = "Choose at least one product."
        return _sale_page(form, customer, draft, status=400)
    try:
        sale = ledger.purchase(
            session,
            customer_id=customer.id,
            lines=lines,
            idempotency_key=key,
            user_id=current_user.id,
        )
    except ledger.LedgerError as refusal:
        _explain(refusal, draft, customer)
        return _sale_page(form, customer, draft, status=409)
    return redirect(url_for("sales.receipt", order_id=sale.order_id))


def _explain(refusal: ledger.LedgerError, draft: SaleDraft, customer: Customer) -> None:
    """A refusal in the clerk's words, next to the line or the customer it concerns."""
    match refusal:
        case ledger.InsufficientStock():
            left = refusal.available
            draft.fault(
                None,
                refusal.product_id,
                f"Only {left} left in stock." if left else "Out of stock.",
            )
        case ledger.CreditLimitExceeded():
            draft.error = (
                f"Not recorded: this sale would take {customer.name} over the credit limit. "
                f"Available credit is {money(refusal.available_credit)}."
            )
        case ledger.NotFound():
            draft.fault(None, refusal.id, "This product is not for sale any more.")
        case ledger.InvalidInput():
            draft.fault(refusal.line, None, refusal.message.capitalize() + ".")
        case ledger.CustomerArchived():
            draft.error = f"{customer.name} is archived and cannot buy on credit."
        case ledger.Busy():
            draft.error = (
                "Another till is busy with this customer. Nothing was recorded; try again."
            )
        case _:
            draft.error = "The sale was not recorded. Check it and try again."


def _sale_page(
    form: SaleForm,
    customer: Customer,
    draft: SaleDraft,
    *,
    status: int = 200,
    extra_rows: int = 0,
) -> tuple[str, int]:
    products = queries.sellable_products(db_session())
    page = render_template(
        "sales/new.html",
        form=form,
        customer=customer,
        products=products,
        rows=draft.padded(extra_rows),
        error=draft.error,
    )
    return page, status


@bp.route("/<uuid:order_id>")
def receipt(order_id: uuid.UUID) -> str:
    found = queries.get_receipt(db_session(), order_id)
    if found is None:
        abort(404)
    return render_template("sales/receipt.html", receipt=found)


@bp.route("")
def index() -> str:
    form = SalesFilterForm(request.args)
    form.validate()
    filters = ListFilter(**filter_values(form))
    sales = queries.list_sales(db_session(), filters, requested_page())
    return render_template("sales/index.html", form=form, sales=sales, filters=filters)
