from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.forms import IdempotentForm, LocalDateField
from webapp.ledger import PAYMENT_METHODS


class PaymentForm(IdempotentForm):
    customer_id = HiddenField()
    # Text, not a number field: the amount is checked by the ledger, whose messages say why.
    amount = StringField(
        lazy_gettext("Amount"),
        validators=[DataRequired(lazy_gettext("Enter the amount paid."))],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    method = SelectField(
        lazy_gettext("Paid by"),
        choices=[SelectChoice(value, label) for value, label in PAYMENT_METHODS.items()],
        default="cash",
    )
    order_id = SelectField(lazy_gettext("Apply to"), choices=[], validate_choice=False)
    note = TextAreaField(
        lazy_gettext("Note"),
        validators=[Optional(), Length(max=500, message=lazy_gettext("At most 500 characters."))],
    )


class PaymentsFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    q = StringField(lazy_gettext("Customer, phone or number"), validators=[Optional()])
    method = SelectField(
        lazy_gettext("Paid by"),
        choices=[
            SelectChoice("", lazy_gettext("Any way")),
            *(SelectChoice(value, label) for value, label in PAYMENT_METHODS.items()),
        ],
    )
    date_from = LocalDateField(lazy_gettext("From"), validators=[Optional()])
    date_to = LocalDateField(lazy_gettext("To"), validators=[Optional()])
