from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField
from wtforms.fields import DateField
from wtforms.validators import Optional

from webapp.forms import IdempotentForm
from webapp.share.operations import DAYS_CHOICES, DEFAULT_DAYS


class ShareForm(IdempotentForm):
    """Share the statement shown on the customer's page: its period (carried from the period
    chooser) and how long the link stays open."""

    date_from = DateField(validators=[Optional()])  # sent as hidden inputs (share/_links.html)
    date_to = DateField(validators=[Optional()])
    days = SelectField(
        lazy_gettext("Open for"),
        choices=[
            SelectChoice(str(days), lazy_gettext("%(days)s days", days=days))
            for days in DAYS_CHOICES
        ],
        default=str(DEFAULT_DAYS),
    )


class RevokeForm(FlaskForm):
    """Revoking a link: the CSRF token is all it carries."""
