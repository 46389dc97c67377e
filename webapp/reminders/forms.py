from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField


class RemindForm(FlaskForm):
    channel = HiddenField()  # whatsapp or sms: the button pressed
