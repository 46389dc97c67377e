"""The main menu: only pages that exist, and owner-only pages only for owners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    owner_only: bool = False

    @property
    def blueprint(self) -> str:
        return self.endpoint.partition(".")[0]


MENU = (
    NavItem("dashboard.index", "Home"),
    NavItem("sales.index", "Sales"),
    NavItem("payments.index", "Payments"),
    NavItem("customers.index", "Customers"),
    NavItem("products.index", "Products"),
    NavItem("overdue.index", "Overdue"),
    NavItem("insights.index", "Reports", owner_only=True),
    NavItem("staff.index", "Staff", owner_only=True),
    NavItem("settings.index", "Settings", owner_only=True),
    NavItem("activity.index", "Activity", owner_only=True),
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
