from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Optional

from webapp.activity.log import KIND_LABELS
from webapp.forms import LocalDateField


class ActivityFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    kind = SelectField(
        lazy_gettext("What"),
        choices=[
            SelectChoice("", lazy_gettext("Everything")),
            *(SelectChoice(value, label) for value, label in KIND_LABELS.items()),
        ],
        validate_choice=False,  # an unknown kind filters nothing (checked in the view)
    )
    person = SelectField(lazy_gettext("Who"), choices=[], validate_choice=False)  # the shop's staff
    q = StringField(lazy_gettext("Customer name or phone"), validators=[Optional()])
    date_from = LocalDateField(lazy_gettext("From"), validators=[Optional()])
    date_to = LocalDateField(lazy_gettext("To"), validators=[Optional()])
