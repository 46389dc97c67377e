"""The forms of the second factor (webapp/auth/two_factor.py)."""

from __future__ import annotations

from flask_babel import LazyString, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

# A code from the app (6 digits) or a recovery code (16 characters, dashes allowed).
CODE_ATTRIBUTES = {
    "autocomplete": "one-time-code",
    "autocapitalize": "none",
    "spellcheck": "false",
}


def code_field(label: str | LazyString, message: str | LazyString) -> StringField:
    return StringField(
        label,
        validators=[
            DataRequired(message),
            Length(max=40, message=lazy_gettext("At most 40 characters.")),
        ],
        render_kw=CODE_ATTRIBUTES,
    )


class SignInCodeForm(FlaskForm):
    code = code_field("Code", lazy_gettext("Enter the code from your app, or a recovery code."))


class StartForm(FlaskForm):
    """Only the CSRF token: a new secret to set up."""


class ConfirmForm(FlaskForm):
    code = StringField(
        lazy_gettext("Code from your app"),
        validators=[
            DataRequired(lazy_gettext("Enter the 6 digits your app shows.")),
            Length(max=40, message=lazy_gettext("At most 40 characters.")),
        ],
        render_kw={**CODE_ATTRIBUTES, "inputmode": "numeric"},
    )


class TurnOffForm(FlaskForm):
    password = PasswordField(
        lazy_gettext("Your password"),
        validators=[DataRequired(lazy_gettext("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    code = code_field(
        lazy_gettext("Code from your app, or a recovery code"), lazy_gettext("Enter a code.")
    )


class RenewCodesForm(FlaskForm):
    code = code_field(
        lazy_gettext("Code from your app"), lazy_gettext("Enter the code from your app.")
    )
