from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.forms import IdempotentForm, LocalDateField


class DayForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    date = LocalDateField(lazy_gettext("Day"), validators=[Optional()])
    person = SelectField(lazy_gettext("Whose"), choices=[], validate_choice=False)


class DrawerCountForm(IdempotentForm):
    day = HiddenField()
    float_amount = StringField(
        lazy_gettext("Float at the start of the day"),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    counted = StringField(
        lazy_gettext("Cash counted in the drawer"),
        validators=[DataRequired(lazy_gettext("Enter the cash you counted, like 1250.00."))],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    note = TextAreaField(
        lazy_gettext("Note"),
        validators=[Optional(), Length(max=500, message=lazy_gettext("At most 500 characters."))],
    )
