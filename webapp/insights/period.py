"""A report's period: from one day to another (both included, in the shop's timezone), by
day, week (from Monday) or month. At most 366 days, and by day at most 92 days, so every
report reads a bounded number of rollup rows (bench/reports.py measures the largest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext

from webapp.locales import date_example, parse_local_date

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


def month_split(starts: date, ends: date) -> dict[str, date]:
    """How sales_by_product.sql reads a range from the monthly rollup and the daily one: whole
    months from months_from up to (not including) months_to, plus the days in add1 and add2,
    less the days in sub1 and sub2 (each from ..._from up to, not including, ..._to; an empty
    one starts where it ends). At either end of the range, the month it starts or ends in is
    read whole less the days outside the range, or left out and its days inside the range read
    instead, whichever reads fewer days: so a range ending today reads its last month whole
    (there are no rows after today), and no end reads more than about half a month of days."""
    one = timedelta(days=1)
    first, after = period_start(starts, "month"), next_period(period_start(ends, "month"), "month")
    months_from, months_to = first, after
    add: list[tuple[date, date]] = []
    sub: list[tuple[date, date]] = []
    if period_start(ends, "month") == first:  # one month: the days, or the month less the rest
        inside = (ends + one - starts).days
        if inside <= (after - first).days - inside:
            add.append((starts, ends + one))
            months_to = months_from
        else:
            sub += [(first, starts), (ends + one, after)]
    else:
        head_month_ends = next_period(first, "month")
        if (starts - first).days <= (head_month_ends - starts).days:
            sub.append((first, starts))
        else:
            add.append((starts, head_month_ends))
            months_from = head_month_ends
        tail_month = period_start(ends, "month")
        if (after - (ends + one)).days <= (ends + one - tail_month).days:
            sub.append((ends + one, after))
        else:
            add.append((tail_month, ends + one))
            months_to = tail_month
    add += [(starts, starts)] * (2 - len(add))
    sub += [(starts, starts)] * (2 - len(sub))
    split = {"months_from": months_from, "months_to": months_to}
    for name, ranges in (("add", add), ("sub", sub)):
        for n, (begins, stops) in enumerate(ranges, start=1):
            split[f"{name}{n}_from"], split[f"{name}{n}_to"] = begins, stops
    return split


def default_period(today: date) -> Period:
    """The last 12 months, this one included (as far as today)."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return Period(date(year, month, 1), today, "month")


def _day(value: str | None) -> date | None:
    """ISO from a date picker, or the day as the shop writes it."""
    return parse_local_date(value or "")


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
        errors["starts"] = gettext("Enter a date like %(example)s.", example=date_example())
    if ends is None:
        errors["ends"] = gettext("Enter a date like %(example)s.", example=date_example())
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
