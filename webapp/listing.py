"""Lists of sales and payments: page numbers, filters by customer and period, totals."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Flask, request
from sqlalchemy import TextClause
from sqlalchemy.orm import Session

from webapp.inputs import parse_uuid


@dataclass(frozen=True)
class Page:
    number: int
    size: int
    has_next: bool = False

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def requested_page(size: int = 50) -> Page:
    """The page asked for (?page=N); anything odd means the first page."""
    raw = request.args.get("page", "1")
    number = int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 6 else 1
    return Page(max(number, 1), size)


def page_url(number: int) -> str:
    """This list's address with the same filters, on page `number`."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    return f"{request.path}?{urlencode([*args, ('page', number)])}"


T = TypeVar("T")


def init_app(app: Flask) -> None:
    app.add_template_global(page_url)


def page_of(rows: list[T], page: Page) -> tuple[list[T], Page]:
    """Fetch one row more than a page to know whether there is a next page; drop it here."""
    return rows[: page.size], Page(page.number, page.size, has_next=len(rows) > page.size)


def like_pattern(query: str) -> str:
    """A LIKE pattern matching `query` anywhere, with its own % and _ taken literally."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class ListFilter:
    """Who and when: one customer, or customers whose name or phone matches (or the record's
    number: "1042", "#1042", "Sale 1042"); a date range (inclusive, in the business's
    timezone)."""

    customer_id: uuid.UUID | None = None
    customer_query: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def params(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "pattern": like_pattern(self.customer_query) if self.customer_query else None,
            "number": record_number(self.customer_query),
            "date_from": self.date_from,
            "date_to": self.date_to,
        }


NUMBER = re.compile(r"(?:sale|payment|no\.?)?\s*#?\s*(\d{1,15})", re.IGNORECASE)


def record_number(query: str) -> int | None:
    """The number a search names, when it is one ("1042", "#1042", "Sale 1042")."""
    match = NUMBER.fullmatch(query.strip())
    return int(match.group(1)) if match else None


def filter_values(form: Any) -> dict[str, Any]:
    """The ListFilter a submitted filter form asks for (fields q, date_from, date_to; and a
    customer id in ?customer=, from links). A date that does not parse filters nothing."""
    return {
        "customer_id": parse_uuid(request.args.get("customer")),
        "customer_query": (form.q.data or "").strip()[:100],
        "date_from": None if form.date_from.errors else form.date_from.data,
        "date_to": None if form.date_to.errors else form.date_to.data,
    }


def filter_clause(alias: str, moment: str = "created_at", *, numbered: bool = True) -> str:
    """The WHERE conditions of a ListFilter on table `alias` (joined to c = customers and
    b = businesses; its time column `moment`; `numbered`: its rows have a shop number the
    search may name), with the filter's parameters; an unset filter matches everything."""
    by_number = f"OR {alias}.number = CAST(:number AS bigint)" if numbered else ""
    return f"""
       (CAST(:customer_id AS uuid) IS NULL OR {alias}.customer_id = :customer_id)
   AND (CAST(:pattern AS text) IS NULL
        OR c.name ILIKE :pattern ESCAPE '\\' OR c.phone ILIKE :pattern ESCAPE '\\'
        {by_number})
   AND (CAST(:date_from AS date) IS NULL
        OR {alias}.{moment} >= CAST(:date_from AS date)::timestamp AT TIME ZONE b.timezone)
   AND (CAST(:date_to AS date) IS NULL
        OR {alias}.{moment} < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE b.timezone)"""


@dataclass(frozen=True)
class Listing:
    rows: list[Any]  # rows of a query, or what a search made of them
    page: Page
    count: int  # of everything the filter matches, not only this page
    total: Decimal
    capped: bool = False  # count and total stopped at a cap: there may be more


def fetch_listing(
    session: Session,
    rows_sql: TextClause,
    totals_sql: TextClause,
    params: dict[str, Any],
    page: Page,
) -> Listing:
    """One page of rows (rows_sql takes :limit and :offset) and the count and total of all."""
    rows = session.execute(rows_sql, {**params, "limit": page.size + 1, "offset": page.offset})
    totals = session.execute(totals_sql, params).one()
    shown, page = page_of(list(rows), page)
    return Listing(shown, page, totals._mapping["count"], totals.total)
