from __future__ import annotations

from flask_babel import LazyString, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from webapp.forms import IdempotentForm

ROLE_CHOICES = [
    SelectChoice("clerk", lazy_gettext("Clerk: sales, payments and lists")),
    SelectChoice("owner", lazy_gettext("Owner: also staff, products, credit limits and settings")),
]


PASSWORD_LABEL = lazy_gettext("Password")


def _password_fields(
    label: str | LazyString = PASSWORD_LABEL,
) -> tuple[PasswordField, PasswordField]:
    """A new password and the same again (unbound fields, for a form class body)."""
    return (
        PasswordField(
            label,
            validators=[DataRequired(lazy_gettext("Enter a password.")), Length(max=200)],
            render_kw={"autocomplete": "new-password"},
        ),
        PasswordField(
            lazy_gettext("%(label)s again", label=label),
            validators=[
                DataRequired(lazy_gettext("Enter the password again.")),
                EqualTo("password", lazy_gettext("The two passwords are not the same.")),
            ],
            render_kw={"autocomplete": "new-password"},
        ),
    )


class AddStaffForm(IdempotentForm):
    name = StringField(
        lazy_gettext("Name"),
        validators=[
            DataRequired(lazy_gettext("Enter their name.")),
            Length(max=120, message=lazy_gettext("At most 120.")),
        ],
        render_kw={"autocomplete": "off"},
    )
    email = EmailField(
        lazy_gettext("Email"),
        validators=[
            DataRequired(lazy_gettext("Enter their email; they sign in with it.")),
            Length(max=254),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    role = SelectField(
        lazy_gettext("Role"), choices=ROLE_CHOICES, default="clerk", validate_choice=False
    )
    password, confirm = _password_fields()


class RoleForm(FlaskForm):
    role = SelectField(lazy_gettext("Role"), choices=ROLE_CHOICES, validate_choice=False)


class ResetPasswordForm(FlaskForm):
    password, confirm = _password_fields(lazy_gettext("New password"))
