"""The sale form: its fixed fields, and the draft of item rows the clerk entered."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask import request
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.fields import DateField
from wtforms.validators import Optional

from webapp import ledger
from webapp.forms import IdempotentForm
from webapp.inputs import parse_uuid, whole_number

EMPTY_ROWS = 5  # item rows a sale form offers without JavaScript; "More rows" adds as many again
MAX_LINES = 500  # the most lines one sale may have: process_purchase refuses more, as SC004


class SaleForm(IdempotentForm):
    """The sale's fixed fields; its item rows are the repeated `product`/`quantity` inputs."""

    customer_id = HiddenField()


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
    # The form row of each line sent to the ledger, in order (rows with a product chosen).
    sent: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.sent = [index for index, row in enumerate(self.rows) if row.product_id]

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
        return len(self.sent) > MAX_LINES

    def padded(self, extra: int = 0) -> list[ItemRow]:
        wanted = min(max(len(self.rows), EMPTY_ROWS) + extra, MAX_LINES)
        return self.rows + [ItemRow() for _ in range(wanted - len(self.rows))]

    def lines(self) -> list[ledger.Line]:
        """Rows with a product chosen; a quantity that is not a plain number goes as typed, so
        the ledger refuses it with its one message."""
        lines = []
        for index in self.sent:
            row = self.rows[index]
            number = whole_number(row.quantity)
            lines.append(ledger.Line(row.product_id, row.quantity if number is None else number))
        return lines

    def fault(self, line: int | None, product_id: uuid.UUID | None, message: str) -> None:
        """Put the message next to the row at fault (by the ledger's 1-based line, or by the
        product), or on the form when none is."""
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


class SalesFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    q = StringField("Customer name or phone", validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
