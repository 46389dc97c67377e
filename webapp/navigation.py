"""The main menu: only pages that exist, and owner-only pages only for owners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app
from flask_babel import LazyString, lazy_gettext
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str | LazyString
    owner_only: bool = False

    @property
    def blueprint(self) -> str:
        return self.endpoint.partition(".")[0]


MENU = (
    NavItem("dashboard.index", lazy_gettext("Home")),
    NavItem("sales.index", lazy_gettext("Sales")),
    NavItem("payments.index", lazy_gettext("Payments")),
    NavItem("customers.index", lazy_gettext("Customers")),
    NavItem("products.index", lazy_gettext("Products")),
    NavItem("overdue.index", lazy_gettext("Overdue")),
    NavItem("insights.index", lazy_gettext("Reports"), owner_only=True),
    NavItem("staff.index", lazy_gettext("Staff"), owner_only=True),
    NavItem("settings.index", lazy_gettext("Settings"), owner_only=True),
    NavItem("activity.index", lazy_gettext("Activity"), owner_only=True),
)


def navigation() -> list[NavItem]:
    built = current_app.view_functions
    return [
        item
        for item in MENU
        if item.endpoint in built and (current_user.is_owner or not item.owner_only)
    ]


def now_utc() -> datetime:
    return datetime.now(UTC)


def init_app(app: Flask) -> None:
    app.add_template_global(navigation)
    app.add_template_global(now_utc)
