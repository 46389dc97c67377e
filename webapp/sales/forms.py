from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.fields import DateField
from wtforms.validators import Optional

EMPTY_ROWS = 5  # item rows a sale form offers without JavaScript; "More rows" adds as many again
MAX_ROWS = 500  # the most lines one sale may have (the database says the same)


class SaleForm(FlaskForm):
    """The sale's fixed fields; its item rows are the repeated `product`/`quantity` inputs."""

    customer_id = HiddenField()
    idempotency_key = HiddenField()


class SalesFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    q = StringField("Customer name or phone", validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
