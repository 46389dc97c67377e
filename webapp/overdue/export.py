"""The overdue list as CSV for a spreadsheet: plain numbers, ISO dates, nothing it would run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from webapp.reports import BUCKET_LABELS, BUCKETS, OverdueCustomer

HEADER = [
    "Customer",
    "Phone",
    "Balance",
    "Overdue amount",
    "Oldest due date",
    "Days overdue",
    "Last payment",
    *(BUCKET_LABELS[bucket] for bucket in BUCKETS),
]
# A cell a spreadsheet would read as a formula (or a command) starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def overdue_csv(customers: Iterable[OverdueCustomer]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for c in customers:
        writer.writerow(
            [
                neutralise(c.name),
                neutralise(c.phone),
                f"{c.balance:.2f}",
                f"{c.overdue_amount:.2f}",
                c.oldest_due_on.isoformat(),
                c.days_overdue,
                c.last_payment_on.isoformat() if c.last_payment_on else "",
                *(f"{c.aging[bucket]:.2f}" for bucket in BUCKETS),
            ]
        )
    return out.getvalue()
