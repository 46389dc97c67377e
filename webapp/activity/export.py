"""The activity log as CSV for a spreadsheet: ISO times in the shop's timezone, before and after
as JSON, and no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from webapp.activity.present import kind_label, who
from webapp.overdue.export import neutralise

HEADER = ["When", "Kind", "Who", "What", "Reason", "Customer", "Product", "Before", "After"]


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def activity_csv(rows: Iterable[Any], timezone: str) -> str:
    zone = ZoneInfo(timezone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [
                row.at.astimezone(zone).isoformat(timespec="seconds"),
                kind_label(row.kind),
                neutralise(who(row)),
                neutralise(row.summary),
                neutralise(row.reason),
                neutralise(row.customer_name or ""),
                neutralise(row.product_name or ""),
                neutralise(_json(row.before)),
                neutralise(_json(row.after)),
            ]
        )
    return out.getvalue()
