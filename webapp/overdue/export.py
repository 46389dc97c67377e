"""The overdue list for a spreadsheet. The Excel file is the one for people: typed cells (money
as numbers in the shop's currency format, dates as dates, phones as text), so nothing can run
and nothing needs an apostrophe. The CSV is for programs: plain numbers, ISO dates, a byte order
mark (so Excel on Windows reads it as UTF-8), and a cell that a spreadsheet would run as a
formula is neutralised with a leading apostrophe."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from babel.numbers import get_currency_symbol
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from webapp.reports import BUCKETS, OverdueCustomer, OverdueReport

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"

# Exports are always in English, whoever downloads them: their columns are read by programs
# and by other people's spreadsheets (README, "Languages and formats").
BUCKET_HEADERS = {
    "not_due": "Not yet due",
    "1_30": "1–30 days",
    "31_60": "31–60 days",
    "61_90": "61–90 days",
    "over_90": "Over 90 days",
}
HEADER = [
    "Customer",
    "Phone",
    "Balance",
    "Overdue amount",
    "Oldest due date",
    "Days overdue",
    "Last payment",
    *(BUCKET_HEADERS[bucket] for bucket in BUCKETS),
]
# A cell a spreadsheet would read as a formula (or a command) starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def overdue_csv(customers: Iterable[OverdueCustomer]) -> str:
    out = io.StringIO()
    out.write(BOM)
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


MONEY_COLUMNS = {2, 3, *range(7, 7 + len(BUCKETS))}  # 0-based, in HEADER
DATE_COLUMNS = {4, 6}


def overdue_xlsx(report: OverdueReport, currency: str) -> bytes:
    """The list as an .xlsx workbook: one row per customer and a totals row. Every cell is
    written as a value of its type (openpyxl writes a string as a string, never a formula, when
    its data type is set to text)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "Overdue"
    symbol = get_currency_symbol(currency, locale="en")
    money_format = f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00'
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for c in report.customers:
        sheet.append(
            [
                c.name,
                c.phone,
                c.balance,
                c.overdue_amount,
                c.oldest_due_on,
                c.days_overdue,
                c.last_payment_on,
                *(c.aging[bucket] for bucket in BUCKETS),
            ]
        )
    sheet.append(
        [
            f"{report.count} customers",
            None,
            report.balance,
            report.overdue_amount,
            None,
            None,
            None,
            *(report.aging[bucket] for bucket in BUCKETS),
        ]
    )
    for row in sheet.iter_rows(min_row=2):
        for index, cell in enumerate(row):
            if index in (0, 1) and cell.value is not None:
                cell.data_type = "s"  # text, whatever it starts with: never a formula
                cell.number_format = "@"
            elif index in MONEY_COLUMNS:
                cell.number_format = money_format
            elif index in DATE_COLUMNS:
                cell.number_format = "yyyy-mm-dd"
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for index, title in enumerate(HEADER, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(title) + 2)
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 18
    sheet.freeze_panes = "B2"  # the names stay in view while the figures scroll
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
