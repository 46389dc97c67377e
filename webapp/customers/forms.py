from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields import DateField
from wtforms.validators import Optional


class StatementPeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
