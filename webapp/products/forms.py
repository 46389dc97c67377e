from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import Optional

from webapp.forms import IdempotentForm

# Why stock changes, as the owner chooses it on a product's page (sales change it on their own).
STOCK_CHOICES = {
    "delivery": lazy_gettext("Delivery: stock came in"),
    "damage": lazy_gettext("Damage: stock was lost or spoilt"),
    "count_correction": lazy_gettext("Count correction: I counted the stock"),
}


# A scanner types the code and presses Enter: no autocomplete, no spellcheck getting in the way.
BARCODE_INPUT = {"autocomplete": "off", "maxlength": 64, "spellcheck": "false"}


class ProductsFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    q = StringField(lazy_gettext("Name, SKU or barcode"), validators=[Optional()])
    low = BooleanField(lazy_gettext("Only low stock"))
    archived = BooleanField(lazy_gettext("Show archived products"))


class ProductForm(IdempotentForm):
    """A new product. The values are checked by `operations.product_fields`, the rules the API
    and CSV imports use too. The idempotency key becomes the product's id: sent twice, made
    once."""

    name = StringField(lazy_gettext("Name"), render_kw={"autocomplete": "off", "maxlength": 120})
    sku = StringField(lazy_gettext("SKU"), render_kw={"autocomplete": "off", "maxlength": 64})
    barcode = StringField(lazy_gettext("Barcode"), render_kw=BARCODE_INPUT)
    # Text, not number fields: operations.product_fields says what is wrong in the shop's words.
    price = StringField(
        lazy_gettext("Price"), render_kw={"inputmode": "decimal", "autocomplete": "off"}
    )
    stock = StringField(
        lazy_gettext("Opening stock"), render_kw={"inputmode": "numeric", "autocomplete": "off"}
    )


class ProductEditForm(FlaskForm):
    """Name, SKU, barcode and price; the stock changes only through a delivery, damage or
    count."""

    name = StringField(lazy_gettext("Name"), render_kw={"autocomplete": "off", "maxlength": 120})
    sku = StringField(lazy_gettext("SKU"), render_kw={"autocomplete": "off", "maxlength": 64})
    barcode = StringField(lazy_gettext("Barcode"), render_kw=BARCODE_INPUT)
    price = StringField(
        lazy_gettext("Price"), render_kw={"inputmode": "decimal", "autocomplete": "off"}
    )
    # Kept with a new price in the activity log.
    price_reason = StringField(
        lazy_gettext("Why the price changes (optional)"),
        render_kw={"autocomplete": "off", "maxlength": 200},
    )


class StockForm(IdempotentForm):
    reason = SelectField(
        lazy_gettext("Why"),
        choices=[SelectChoice(value, label) for value, label in STOCK_CHOICES.items()],
        default="delivery",
        validate_choice=False,  # checked in the view, with a message in the shop's words
    )
    quantity = StringField(
        lazy_gettext("How many"),
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 10},
    )
    note = StringField(lazy_gettext("Note"), render_kw={"autocomplete": "off", "maxlength": 500})


class ConfirmForm(FlaskForm):
    """A button that changes something (archive, unarchive): only the CSRF token."""
