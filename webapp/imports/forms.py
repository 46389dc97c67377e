from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField

from webapp.forms import IdempotentForm


class UploadForm(FlaskForm):
    file = FileField(lazy_gettext("CSV file"))


class ConfirmForm(IdempotentForm):
    """The previewed file, carried back signed (see routes.pack), and the key that makes a
    confirm sent twice import once."""

    payload = HiddenField()
