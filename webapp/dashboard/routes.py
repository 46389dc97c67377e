from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import render_template, url_for

from webapp import reports
from webapp.dashboard import bp
from webapp.db import db_session

# The overdue list's filter each bar of the aging chart opens.
BAR_FILTERS = {"not_due": 0, "1_30": 0, "31_60": 30, "61_90": 60, "over_90": 90}
CHART_HEIGHT = 160


@dataclass(frozen=True)
class Bar:
    label: str
    amount: Decimal
    height: int  # in SVG units, of CHART_HEIGHT
    href: str


def aging_bars(aging: dict[str, Decimal]) -> list[Bar]:
    tallest = max(aging.values(), default=Decimal(0)) or Decimal(1)
    return [
        Bar(
            label=str(reports.BUCKET_LABELS[bucket]),
            amount=amount,
            height=int(CHART_HEIGHT * amount / tallest),
            href=url_for("overdue.index", min_days=BAR_FILTERS[bucket]),
        )
        for bucket, amount in aging.items()
    ]


@bp.route("/")
def index() -> str:
    figures = reports.dashboard(db_session())
    return render_template(
        "dashboard/index.html",
        figures=figures,
        bars=aging_bars(figures.aging),
        chart_height=CHART_HEIGHT,
    )
