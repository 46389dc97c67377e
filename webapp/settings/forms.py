from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.forms import IdempotentForm
from webapp.locales import LOCALES, locale_label
from webapp.settings.operations import RECEIPT_PAPERS


class SettingsForm(FlaskForm):
    name = StringField(
        lazy_gettext("Business name"),
        validators=[
            DataRequired(lazy_gettext("Enter the business name.")),
            Length(max=120, message=lazy_gettext("At most 120 characters.")),
        ],
    )
    address = TextAreaField(
        lazy_gettext("Address"),
        validators=[Optional(), Length(max=300, message=lazy_gettext("At most 300 characters."))],
    )
    phone = StringField(
        lazy_gettext("Phone"),
        validators=[Optional(), Length(max=40, message=lazy_gettext("At most 40 characters."))],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    # Text, not select or number fields: the shared rules (operations.read_settings)
    # judge them, so the pages and the admin commands give the same messages.
    currency = StringField(
        lazy_gettext("Currency"),
        validators=[DataRequired(lazy_gettext("Enter a currency code, like USD."))],
        render_kw={"list": "currencies", "autocapitalize": "characters", "autocomplete": "off"},
    )
    timezone = StringField(
        lazy_gettext("Time zone"),
        validators=[DataRequired(lazy_gettext("Enter a time zone, like Africa/Nairobi."))],
        render_kw={"list": "timezones", "autocomplete": "off"},
    )
    locale = SelectField(
        lazy_gettext("Money and dates written as"),
        choices=[SelectChoice(code, locale_label(code)) for code in LOCALES],
        validate_choice=False,  # operations.read_settings judges it
    )
    credit_days = StringField(
        lazy_gettext("Credit days"),
        validators=[
            DataRequired(lazy_gettext("Enter how many days customers have to pay (0 to 365)."))
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    low_stock_threshold = StringField(
        lazy_gettext("Low stock warning at"),
        validators=[DataRequired(lazy_gettext("Enter a number of items (0 to 100000)."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    default_credit_limit = StringField(
        lazy_gettext("Credit limit for new customers"),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    api_requests_per_minute = StringField(
        lazy_gettext("API requests per token per minute"),
        validators=[DataRequired(lazy_gettext("Enter a number of requests (1 to 100000)."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    clerk_correction_minutes = StringField(
        lazy_gettext("Minutes a clerk has to return or void their own sale"),
        validators=[DataRequired(lazy_gettext("Enter a number of minutes (0 to 1440)."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    payment_instructions = StringField(
        lazy_gettext("How to pay (in reminders)"),
        render_kw={"autocomplete": "off", "maxlength": 300},
    )
    reminder_template = TextAreaField(
        lazy_gettext("Reminder text"), render_kw={"rows": 4, "maxlength": 1000}
    )
    receipt_paper = SelectField(
        lazy_gettext("Receipt paper"),
        choices=[SelectChoice(value, label) for value, label in RECEIPT_PAPERS.items()],
        validate_choice=False,  # operations.read_settings judges it, with the shop's words
    )
    owners_need_two_factor = BooleanField(lazy_gettext("Owners must use a second factor"))


class TokenForm(IdempotentForm):
    name = StringField(
        lazy_gettext("Name"),
        validators=[
            DataRequired(lazy_gettext("Give the token a name, like front till.")),
            Length(max=80, message=lazy_gettext("At most 80 characters.")),
        ],
        render_kw={"autocomplete": "off"},
    )
