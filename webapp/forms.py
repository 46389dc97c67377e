"""What every form that records something shares: the idempotency key made when it is shown."""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField
from wtforms.fields import DateField

from webapp.inputs import parse_uuid
from webapp.locales import date_example, parse_local_date

STALE_FORM = lazy_gettext("This form was out of date; check it and send it again.")


def add_error(field: Field, message: str) -> None:
    """Show `message` next to the field (its errors are a tuple until the form is validated)."""
    field.errors = [*field.errors, message]


class IdempotentForm(FlaskForm):
    """A form whose hidden key, made when the form is first shown, names what it records: a
    double click, a back-and-resubmit or a retried POST records once.

    `key` is the key sent (None when the form is shown the first time, or was sent without a key
    of ours); the form then carries a fresh one, and `validate()` refuses a sent form with
    STALE_FORM among its `form_errors`."""

    idempotency_key = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key: uuid.UUID | None = parse_uuid(self.idempotency_key.data)
        if self.key is None:
            self.idempotency_key.data = str(uuid.uuid4())

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        if self.key is None and "idempotency_key" in self:  # (a form that edits drops it)
            self.form_errors.append(STALE_FORM)
            return False
        return valid

    def renew_key(self) -> None:
        """Out of date after all (the key names something else): send it again with a new one."""
        self.key = None
        self.idempotency_key.data = str(uuid.uuid4())
        self.form_errors.append(STALE_FORM)


class LocalDateField(DateField):
    """A date field (`<input type=date>`): a picker sends ISO (2026-03-31), which is always
    taken; typed by hand (a browser without a picker), the shop's way (31 Mar 2026, 31/03/2026)
    is taken too, and a date that is neither is asked for the shop's way."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        self.data = parse_local_date(str(valuelist[0]))
        if self.data is None:
            raise ValueError(date_problem())


def date_problem() -> str:
    return gettext("Enter a date like %(example)s.", example=date_example())
