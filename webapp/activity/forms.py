from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Optional

from webapp.activity.log import KIND_LABELS
from webapp.forms import LocalDateField


class ActivityFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    kind = SelectField(
        "What",
        choices=[
            SelectChoice("", "Everything"),
            *(SelectChoice(value, label) for value, label in KIND_LABELS.items()),
        ],
        validate_choice=False,  # an unknown kind filters nothing (checked in the view)
    )
    person = SelectField("Who", choices=[], validate_choice=False)  # the shop's staff
    q = StringField("Customer name or phone", validators=[Optional()])
    date_from = LocalDateField("From", validators=[Optional()])
    date_to = LocalDateField("To", validators=[Optional()])
