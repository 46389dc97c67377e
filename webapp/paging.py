"""Lists: page numbers from the query string, and searching by part of a name."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, request


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


def init_app(app: Flask) -> None:
    app.add_template_global(page_url)


def page_of(rows: list, page: Page) -> tuple[list, Page]:
    """Fetch one row more than a page to know whether there is a next page; drop it here."""
    return rows[: page.size], Page(page.number, page.size, has_next=len(rows) > page.size)


def like_pattern(query: str) -> str:
    """A LIKE pattern matching `query` anywhere, with its own % and _ taken literally."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
