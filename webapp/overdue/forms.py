from __future__ import annotations

from typing import TypedDict

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import Optional


class OverdueFilter(TypedDict):
    """What the overdue list shows: `reports.overdue`'s filters."""

    min_days: int
    query: str
    sort: str
    not_reminded: bool


class OverdueFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    min_days = SelectField(
        lazy_gettext("Overdue by"),
        choices=[
            SelectChoice("0", lazy_gettext("Any days")),
            SelectChoice("30", lazy_gettext("30+ days")),
            SelectChoice("60", lazy_gettext("60+ days")),
            SelectChoice("90", lazy_gettext("90+ days")),
        ],
        default="0",
    )
    q = StringField(lazy_gettext("Name or phone"), validators=[Optional()])
    not_reminded = BooleanField(lazy_gettext("Not reminded in 7 days"))
    sort = SelectField(
        lazy_gettext("Sort by"),
        choices=[
            SelectChoice("days", lazy_gettext("Days overdue")),
            SelectChoice("amount", lazy_gettext("Amount overdue")),
        ],
        default="days",
    )

    def values(self) -> OverdueFilter:
        """What to list; anything not offered by the form falls back to its default."""
        min_days = int(self.min_days.data) if self.min_days.data in ("0", "30", "60", "90") else 0
        return {
            "min_days": min_days,
            "query": (self.q.data or "").strip()[:100],
            "sort": "amount" if self.sort.data == "amount" else "days",
            "not_reminded": bool(self.not_reminded.data),
        }
