from __future__ import annotations

from typing import TypedDict

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
        "Overdue by",
        choices=[
            SelectChoice("0", "Any days"),
            SelectChoice("30", "30+ days"),
            SelectChoice("60", "60+ days"),
            SelectChoice("90", "90+ days"),
        ],
        default="0",
    )
    q = StringField("Name or phone", validators=[Optional()])
    not_reminded = BooleanField("Not reminded in 7 days")
    sort = SelectField(
        "Sort by",
        choices=[SelectChoice("days", "Days overdue"), SelectChoice("amount", "Amount overdue")],
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
