from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    business = StringField(
        lazy_gettext("Shop code"),
        validators=[DataRequired(lazy_gettext("Enter your shop code.")), Length(max=40)],
        render_kw={"autocomplete": "organization", "autocapitalize": "none"},
    )
    email = EmailField(
        lazy_gettext("Email"),
        validators=[DataRequired(lazy_gettext("Enter your email.")), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[DataRequired(lazy_gettext("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        lazy_gettext("Current password"),
        validators=[DataRequired(lazy_gettext("Enter your current password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        lazy_gettext("New password"),
        validators=[DataRequired(lazy_gettext("Enter a new password.")), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        lazy_gettext("New password again"),
        validators=[
            DataRequired(lazy_gettext("Enter the new password again.")),
            EqualTo("new_password", lazy_gettext("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        lazy_gettext("Your password"),
        validators=[DataRequired(lazy_gettext("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class LanguageForm(FlaskForm):
    # Choices are set per request: the first names the shop's language, in the person's words.
    language = SelectField(lazy_gettext("Language"), validate_choice=False)
