"""The sale form: its fixed fields, and the draft of lines the clerk has entered so far."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask import request
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import Optional

from webapp import ledger
from webapp.forms import IdempotentForm, LocalDateField
from webapp.inputs import parse_uuid, whole_number

MAX_LINES = 500  # the most lines one sale may have: process_purchase refuses more, as SC004


class SaleForm(IdempotentForm):
    """The sale's fixed fields; its lines are the repeated `product`/`quantity` inputs."""

    customer_id = HiddenField()


@dataclass
class Line:
    """One line as entered: the product's id and the quantity as typed."""

    product_id: str
    quantity: str = "1"
    error: str | None = None

    @property
    def product(self) -> uuid.UUID | None:
        return parse_uuid(self.product_id)


@dataclass
class SaleDraft:
    """The lines entered, in order, and what is wrong with them, as the form shows them again.
    Adding a product already on the draft adds one to its line."""

    lines: list[Line] = field(default_factory=list)
    error: str | None = None

    @classmethod
    def from_request(cls) -> SaleDraft:
        products = request.form.getlist("product")
        quantities = request.form.getlist("quantity")
        return cls(
            [
                Line(product.strip(), quantity.strip())
                for product, quantity in zip(products, quantities, strict=False)
                if product.strip()
            ]
        )

    @property
    def too_long(self) -> bool:
        return len(self.lines) > MAX_LINES

    def add(self, product_id: uuid.UUID) -> None:
        for line in self.lines:
            if line.product == product_id:
                number = whole_number(line.quantity)
                line.quantity = str(number + 1) if number is not None else line.quantity
                return
        self.lines.append(Line(str(product_id)))

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.lines):
            del self.lines[index]

    def for_ledger(self) -> list[ledger.Line]:
        """The lines in order; a quantity that is not a plain number goes as typed, so the
        ledger refuses it with its one message, naming the line."""
        return [
            ledger.Line(
                line.product_id,
                number if (number := whole_number(line.quantity)) is not None else line.quantity,
            )
            for line in self.lines
        ]

    def fault(self, line: int | None, product_id: uuid.UUID | None, message: str) -> None:
        """Put the message next to the line at fault (the ledger's 1-based line, or the
        product's line), or on the form when no line is."""
        index = None
        if line is not None and 1 <= line <= len(self.lines):
            index = line - 1
        elif product_id is not None:
            index = next(
                (i for i, each in enumerate(self.lines) if each.product == product_id), None
            )
        if index is None:
            self.error = message
        else:
            self.lines[index].error = message


class SalesFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    q = StringField(lazy_gettext("Customer, phone or number"), validators=[Optional()])
    date_from = LocalDateField(lazy_gettext("From"), validators=[Optional()])
    date_to = LocalDateField(lazy_gettext("To"), validators=[Optional()])
