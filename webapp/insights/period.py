"""A report's period: from one day to another (both included, in the shop's timezone), by
day, week (from Monday) or month. At most 366 days, and by day at most 92 days, so every
report reads a bounded number of rollup rows (bench/reports.py measures the largest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext

MAX_DAYS = 366
MAX_DAYS_BY_DAY = 92
GROUPINGS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    starts: date
    ends: date
    by: str
    # Each problem with what was asked, by field (starts, ends, by); the period is then the
    # default one.
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.ends - self.starts).days + 1

    def period_starts(self) -> list[date]:
        """The first day of every period the range touches (the first one clipped to the
        range's start is still keyed by its own first day, as the SQL groups it)."""
        first = period_start(self.starts, self.by)
        found: list[date] = []
        current = first
        while current <= self.ends:
            found.append(current)
            current = next_period(current, self.by)
        return found

    def points(self) -> list[date]:
        """The last day of each period, the last one cut at the range's end."""
        ends = [next_period(p, self.by) - timedelta(days=1) for p in self.period_starts()]
        return [min(day, self.ends) for day in ends]

    def as_args(self) -> dict[str, str]:
        return {"from": self.starts.isoformat(), "to": self.ends.isoformat(), "by": self.by}


def period_start(day: date, by: str) -> date:
    if by == "week":
        return day - timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    return day


def next_period(start: date, by: str) -> date:
    if by == "week":
        return start + timedelta(days=7)
    if by == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def default_period(today: date) -> Period:
    """The last 12 months, this one included (as far as today)."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return Period(date(year, month, 1), today, "month")


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def parse_period(args: dict[str, str], today: date) -> Period:
    """The period asked for in the query string (`from`, `to`, `by`), or the default one with
    what was wrong said per field. Nothing asked for: the default."""
    default = default_period(today)
    by = (args.get("by") or default.by).strip()
    errors: dict[str, str] = {}
    if by not in GROUPINGS:
        errors["by"] = gettext("Choose by day, week or month.")
        by = default.by
    starts = _day(args.get("from")) if args.get("from") else default.starts
    ends = _day(args.get("to")) if args.get("to") else today
    if starts is None:
        errors["starts"] = gettext("Enter a day like 2026-12-02.")
    if ends is None:
        errors["ends"] = gettext("Enter a day like 2026-12-02.")
    if starts is not None and ends is not None and not errors:
        if ends > today:
            errors["ends"] = gettext("That day has not come yet: up to today.")
        elif starts > ends:
            errors["starts"] = gettext("The first day comes after the last one.")
        elif (ends - starts).days + 1 > MAX_DAYS:
            errors["starts"] = gettext(
                "At most %(days)s days: choose a later first day.", days=MAX_DAYS
            )
        elif by == "day" and (ends - starts).days + 1 > MAX_DAYS_BY_DAY:
            errors["by"] = gettext(
                "By day, at most %(days)s days: choose weeks or months.", days=MAX_DAYS_BY_DAY
            )
    if errors or starts is None or ends is None:
        return Period(default.starts, default.ends, default.by, errors)
    return Period(starts, ends, by)
