from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from webapp.forms import IdempotentForm
from webapp.ledger import PAYMENT_METHODS

REASON_RULES = [
    DataRequired(lazy_gettext("Say why.")),
    Length(max=500, message=lazy_gettext("At most 500 characters.")),
]


class ReturnForm(IdempotentForm):
    """Return items (a quantity per line, read from the form by product: qty-<product id>), an
    amount off a sale without items, or, as a void, everything left."""

    amount = StringField(
        lazy_gettext("Amount to take off"),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    reason = TextAreaField(lazy_gettext("Reason"), validators=REASON_RULES)
    refund_method = SelectField(
        lazy_gettext("If money goes back, refunded by"),
        choices=[SelectChoice(value, label) for value, label in PAYMENT_METHODS.items()],
        default="cash",
    )


class ReversalForm(IdempotentForm):
    reason = TextAreaField(lazy_gettext("Reason"), validators=REASON_RULES)
