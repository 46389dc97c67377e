from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from webapp.forms import IdempotentForm

ROLE_CHOICES = [
    SelectChoice("clerk", "Clerk: sales, payments and lists"),
    SelectChoice("owner", "Owner: also staff, products, credit limits and settings"),
]


def _password_fields(label: str = "Password") -> tuple[PasswordField, PasswordField]:
    """A new password and the same again (unbound fields, for a form class body)."""
    return (
        PasswordField(
            label,
            validators=[DataRequired("Enter a password."), Length(max=200)],
            render_kw={"autocomplete": "new-password"},
        ),
        PasswordField(
            f"{label} again",
            validators=[
                DataRequired("Enter the password again."),
                EqualTo("password", "The two passwords are not the same."),
            ],
            render_kw={"autocomplete": "new-password"},
        ),
    )


class AddStaffForm(IdempotentForm):
    name = StringField(
        "Name",
        validators=[DataRequired("Enter their name."), Length(max=120, message="At most 120.")],
        render_kw={"autocomplete": "off"},
    )
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter their email; they sign in with it."), Length(max=254)],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default="clerk", validate_choice=False)
    password, confirm = _password_fields()


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)


class ResetPasswordForm(FlaskForm):
    password, confirm = _password_fields("New password")
