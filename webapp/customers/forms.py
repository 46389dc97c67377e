from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from webapp.customers.queries import SORTS
from webapp.forms import IdempotentForm, LocalDateField

LIMIT_REASON_MAX = 200


class StatementPeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    date_from = LocalDateField(lazy_gettext("From"), validators=[Optional()])
    date_to = LocalDateField(lazy_gettext("To"), validators=[Optional()])


SORT_LABELS = {
    "name": lazy_gettext("Name, A to Z"),
    "name_desc": lazy_gettext("Name, Z to A"),
    "balance_desc": lazy_gettext("Balance, highest first"),
    "balance": lazy_gettext("Balance, lowest first"),
}  # one label per queries.SORTS choice


class CustomersFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    q = StringField(lazy_gettext("Name or phone"), validators=[Optional()])
    sort = SelectField(
        lazy_gettext("Sort by"),
        choices=[SelectChoice(value, label) for value, label in SORT_LABELS.items()],
        default="name",
    )
    archived = BooleanField(lazy_gettext("Show archived customers"))

    def values(self) -> dict[str, object]:
        """What to list; a sort the form does not offer falls back to the name."""
        return {
            "query": (self.q.data or "").strip()[:100],
            "sort": self.sort.data if self.sort.data in SORTS else "name",
            "include_archived": bool(self.archived.data),
        }


class CustomerForm(IdempotentForm):
    """A customer's details. The values are checked by `operations.customer_fields`, the rules
    the API and CSV imports use too; clerks get the form without the money fields (see routes)."""

    name = StringField(lazy_gettext("Name"), render_kw={"autocomplete": "off", "maxlength": 120})
    phone = StringField(
        lazy_gettext("Phone"), render_kw={"type": "tel", "autocomplete": "off", "maxlength": 40}
    )
    email = StringField(lazy_gettext("Email"), render_kw={"type": "email", "autocomplete": "off"})
    notes = TextAreaField(lazy_gettext("Notes"), render_kw={"rows": 3, "maxlength": 2000})
    # Text, not number fields: operations.customer_fields says what is wrong in the shop's words.
    credit_limit = StringField(
        lazy_gettext("Credit limit"), render_kw={"inputmode": "decimal", "autocomplete": "off"}
    )
    # An owner's edit only: kept with a new limit in the activity log.
    limit_reason = StringField(
        lazy_gettext("Why the limit changes (optional)"),
        render_kw={"autocomplete": "off", "maxlength": LIMIT_REASON_MAX},
    )
    opening_balance = StringField(
        lazy_gettext("Opening balance"), render_kw={"inputmode": "decimal", "autocomplete": "off"}
    )


class ConfirmForm(FlaskForm):
    """A button that changes something (archive, unarchive): only the CSRF token."""
