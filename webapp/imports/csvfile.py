"""Reading a shop's CSV of customers or products, and checking every row before anything is
written.

`parse` turns the uploaded bytes into rows (or one message about the whole file: not UTF-8, too
large, no header, a required column missing, too many rows); `check` then judges every row with
the rules of `customers.operations` and `products.operations`, so the import says what the
customer and product pages say about the same mistake, plus what only a file can get wrong (a
SKU twice in it, an opening balance above the row's own credit limit).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from babel.numbers import format_decimal
from flask_babel import LazyString, gettext, lazy_gettext, ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.customers.operations import CustomerFields, customer_fields, opening_balance
from webapp.formatting import money
from webapp.locales import shop_locale
from webapp.models import Product
from webapp.products.operations import ProductFields, product_fields
from webapp.products.queries import codes_held, normalized_codes

if TYPE_CHECKING:
    from _csv import Reader

MAX_BYTES = 1024 * 1024  # 1 MB: thousands of rows, and the confirm form carries it back
MAX_ROWS = 5000
DELIMITERS = (",", ";")
ZERO = Decimal("0.00")
HEADER_SPACES = re.compile(r"[\s_\-]+")
# Spreadsheets set to a decimal comma save with semicolons, and write 1,50 for 1.50: in such a
# file an amount's comma is its decimal point. (In a comma-separated file a comma in an amount
# is refused, with how to write it: money_field.)
MONEY_COLUMNS = frozenset({"price", "credit_limit", "opening_balance"})
DECIMAL_COMMA = re.compile(r"(-?[0-9]+),([0-9]{1,2})")


class FileProblem(ValueError):
    """The file as a whole cannot be read; nothing to preview."""


@dataclass(frozen=True)
class Column:
    key: str  # the catalog's field, and the column's name in the example file
    what: str | LazyString  # for the upload page, in the reader's language
    aliases: frozenset[str]  # header spellings taken for it (lower case, single spaces)
    required: bool = False

    @property
    def label(self) -> str:
        return self.key


def _column(
    key: str, what: str | LazyString, aliases: str = "", *, required: bool = False
) -> Column:
    names = {key.replace("_", " "), *(name.strip() for name in aliases.split("|") if name)}
    return Column(key, what, frozenset(names), required)


@dataclass(frozen=True)
class Kind:
    name: str  # "customers" or "products": the URL, the imports row, the list it fills
    singular: str
    columns: tuple[Column, ...]
    example: tuple[tuple[str, ...], ...]

    def column(self, header: str) -> Column | None:
        wanted = HEADER_SPACES.sub(" ", header.strip().lower()).strip()
        return next((c for c in self.columns if wanted in c.aliases), None)

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def count(self, number: int) -> str:
        """ "3 customers", in the reader's language and the shop's way of writing numbers."""
        shown = format_decimal(number, locale=shop_locale())
        if self.name == "customers":
            return ngettext("%(count)s customer", "%(count)s customers", number, count=shown)
        return ngettext("%(count)s product", "%(count)s products", number, count=shown)

    @property
    def one(self) -> str:
        """One of the kind in the reader's language: "customer"."""
        return gettext("customer") if self.name == "customers" else gettext("product")

    @property
    def title(self) -> str:
        """The kind in the reader's language: "customers"."""
        return gettext("customers") if self.name == "customers" else gettext("products")


CUSTOMERS = Kind(
    "customers",
    "customer",
    (
        _column(
            "name",
            lazy_gettext("The customer's name."),
            "customer|customer name|full name",
            required=True,
        ),
        _column(
            "phone",
            lazy_gettext("Phone number."),
            "phone number|mobile|mobile number|telephone|tel",
        ),
        _column("email", lazy_gettext("Email address."), "e mail|email address"),
        _column(
            "credit_limit",
            lazy_gettext(
                "The most the customer may owe, such as 500.00; blank or 0 means no credit."
            ),
            "limit|credit",
        ),
        _column(
            "opening_balance",
            lazy_gettext(
                "What the customer owes you today, from your book; blank or 0 if nothing."
            ),
            "balance|opening|owes|amount owed|balance owed",
        ),
        _column("notes", lazy_gettext("Anything else worth remembering."), "note"),
    ),
    (
        ("name", "phone", "email", "credit_limit", "opening_balance"),
        ("Grace Mensah", "+254 700 111 222", "grace@example.com", "500.00", "120.50"),
        ("Hassan Otieno", "0799 000 000", "", "200", "0"),
        ("Mama Njeri", "", "", "0", ""),
    ),
)
PRODUCTS = Kind(
    "products",
    "product",
    (
        _column(
            "name",
            lazy_gettext("The product's name."),
            "product|product name|item|item name",
            required=True,
        ),
        _column(
            "sku",
            lazy_gettext("Your code for it (optional); each product's must differ."),
            "code|product code|item code",
        ),
        _column(
            "barcode",
            lazy_gettext(
                "The number under the bars on the pack (optional); not another product's barcode "
                "or SKU."
            ),
            "bar code|ean|upc|gtin|ean13|ean 13",
        ),
        _column(
            "price",
            lazy_gettext("The selling price, such as 12.50."),
            "unit price|selling price",
            required=True,
        ),
        _column(
            "stock",
            lazy_gettext("How many you have now, a whole number; blank means 0."),
            "quantity|qty|in stock|stock quantity|opening stock",
        ),
    ),
    (
        ("name", "sku", "barcode", "price", "stock"),
        ("Rice 5 kg", "RICE-5", "5012345678900", "9.50", "40"),
        ("Cooking oil 1 l", "OIL-1", "", "3.90", "24"),
        ("Matches (box of 10)", "", "", "1.20", "0"),
    ),
)
KINDS = {kind.name: kind for kind in (CUSTOMERS, PRODUCTS)}


@dataclass
class Row:
    number: int  # as a spreadsheet shows it: the header is row 1
    values: dict[str, str]  # column key → the cell as written (trimmed)
    problems: dict[str, str] = field(default_factory=dict)  # column key (or "row") → message
    customer: CustomerFields | None = None
    opening: Decimal = ZERO
    product: ProductFields | None = None

    @property
    def messages(self) -> list[str]:
        return list(self.problems.values())


@dataclass
class Upload:
    kind: Kind
    text: str  # the file as text (no BOM): what the confirm form carries back
    columns: list[Column]  # the known columns the file has, in its order
    unknown: list[str]  # headers not imported, as written
    rows: list[Row]
    delimiter: str = ","

    def read(self, row: Row) -> dict[str, str]:
        """The row's cells as the field rules read them: in a semicolon file, an amount
        written with a decimal comma (1,50) with a point instead."""
        if self.delimiter != ";":
            return row.values
        return {
            key: _decimal_point(value) if key in MONEY_COLUMNS else value
            for key, value in row.values.items()
        }

    @property
    def invalid(self) -> list[Row]:
        return [row for row in self.rows if row.problems]

    @property
    def valid_count(self) -> int:
        return len(self.rows) - len(self.invalid)

    @property
    def ready(self) -> bool:
        return bool(self.rows) and not self.invalid


def _decimal_point(value: str) -> str:
    found = DECIMAL_COMMA.fullmatch(value.strip())
    return f"{found[1]}.{found[2]}" if found else value


def example_csv(kind: Kind) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(kind.example)
    return out.getvalue()


def decode(data: bytes) -> str:
    """The file as text: UTF-8, with or without the byte-order mark spreadsheets put first."""
    if len(data) > MAX_BYTES:
        raise FileProblem(
            gettext(
                "The file is larger than %(value)s MB. Split it into smaller "
                "files of at most %(max_rows)s rows each.",
                value=MAX_BYTES // (1024 * 1024),
                max_rows=format(MAX_ROWS, ","),
            )
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(
            gettext(
                "This file is not UTF-8 text, so its letters would come out "
                "wrong. In your spreadsheet choose Save as → “CSV UTF-8 "
                "(comma delimited)” and upload that file."
            )
        ) from None
    if "\x00" in text:
        raise FileProblem(
            gettext(
                "This is not a plain CSV file (it holds NUL characters, as "
                "UTF-16 files and spreadsheet files do). Save it as “CSV "
                "UTF-8” and upload that file."
            )
        )
    if not text.strip():
        raise FileProblem(gettext("The file is empty."))
    return text


def _records(text: str, delimiter: str) -> Reader:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)


def _delimiter(kind: Kind, text: str) -> str:
    """Comma or semicolon (spreadsheets set to a decimal comma save with semicolons): the one
    that splits the header into more known columns, then into more cells."""

    def score(delimiter: str) -> tuple[int, int]:
        try:
            header = next(_records(text, delimiter), [])
        except csv.Error:
            return (-1, 0)
        return (sum(1 for cell in header if kind.column(cell)), len(header))

    return max(DELIMITERS, key=score)  # max keeps the first (the comma) on a tie


def parse(kind: Kind, data: bytes) -> Upload:
    return parse_text(kind, decode(data))


def parse_text(kind: Kind, text: str) -> Upload:
    """The rows of the file, each with its cells by column; raises FileProblem for what
    concerns the whole file."""
    if not text.strip():
        raise FileProblem(gettext("The file is empty."))
    delimiter = _delimiter(kind, text)
    records = _records(text, delimiter)
    try:
        header = next(records)
        columns, unknown, positions = _header(kind, header)
        rows: list[Row] = []
        unnamed_data = False
        # Numbered by record, as a spreadsheet numbers its rows (the header is row 1; a cell
        # with a line break inside quotes is still one row).
        for number, record in enumerate(records, start=2):
            if not any(cell.strip() for cell in record):
                continue  # blank lines, and the ";;;;" lines spreadsheets leave at the end
            if len(rows) >= MAX_ROWS:
                raise FileProblem(
                    gettext(
                        "The file has more than %(max_rows)s %(name)s: at most "
                        "%(max_rows2)s can be imported at once. Split it into "
                        "smaller files.",
                        max_rows=format(MAX_ROWS, ","),
                        name=kind.name,
                        max_rows2=format(MAX_ROWS, ","),
                    )
                )
            row = Row(number, {column.key: "" for column in columns})
            for index, cell in enumerate(record):
                key = positions.get(index)
                if key is not None:
                    row.values[key] = cell.strip()
                elif not cell.strip():
                    continue
                elif index >= len(header):
                    row.problems["row"] = gettext(
                        "This row has more cells than the header has columns. If a "
                        "value holds a comma or semicolon, put it in double quotes."
                    )
                elif not header[index].strip():
                    unnamed_data = True
            rows.append(row)
    except csv.Error:
        raise FileProblem(
            gettext(
                "The file could not be read as CSV near line %(line_num)s. "
                "Save it from your spreadsheet as “CSV UTF-8” and upload it "
                "again.",
                line_num=records.line_num,
            )
        ) from None
    except StopIteration:
        raise FileProblem(gettext("The file is empty.")) from None
    if unnamed_data:
        unknown.append("a column without a name")
    if not rows:
        raise FileProblem(
            gettext(
                "The file has only its header row: there are no %(name)s in it to import.",
                name=kind.name,
            )
        )
    return Upload(kind, text, columns, unknown, rows, delimiter)


def _header(kind: Kind, header: list[str]) -> tuple[list[Column], list[str], dict[int, str]]:
    columns: list[Column] = []
    unknown: list[str] = []
    positions: dict[int, str] = {}
    for index, cell in enumerate(header):
        if not cell.strip():
            continue
        column = kind.column(cell)
        if column is None:
            unknown.append(cell.strip())
        elif column in columns:
            raise FileProblem(
                gettext(
                    "The column “%(label)s” appears twice in the header row; keep one.",
                    label=column.label,
                )
            )
        else:
            columns.append(column)
            positions[index] = column.key
    missing = [c.label for c in kind.required if c not in columns]
    if missing:
        raise FileProblem(
            gettext(
                "The file has no “%(missing)s” column. The first row must "
                "name the columns: %(example)s. Download the example file to "
                "see how.",
                missing="” or “".join(missing),
                example=", ".join(kind.example[0]),
            )
        )
    return columns, unknown, positions


def check(session: Session, upload: Upload) -> Upload:
    """Judge every row; the cleaned values go on the rows with no problem."""
    if upload.kind is CUSTOMERS:
        _check_customers(upload)
    else:
        _check_products(session, upload)
    return upload


def _check_customers(upload: Upload) -> None:
    for row in upload.rows:
        values = upload.read(row)
        fields, problems = customer_fields(values, with_limit=True)
        opening = opening_balance(values, problems)
        row.problems = {**problems, **row.problems}
        limit = fields.credit_limit if fields is not None else None
        if not row.problems and limit is not None and opening > limit:
            row.problems["opening_balance"] = gettext(
                "The opening balance (%(opening)s) is above the credit limit "
                "(%(limit)s). An opening balance is recorded within the "
                "credit limit: raise the credit limit or lower the opening "
                "balance.",
                opening=money(opening),
                limit=money(limit),
            )
        if not row.problems:
            row.customer, row.opening = fields, opening


def _check_products(session: Session, upload: Upload) -> None:
    first_row: dict[str, int] = {}
    for row in upload.rows:
        sku = row.values.get("sku", "").lower()
        if sku:
            first_row.setdefault(sku, row.number)
    taken = _existing_skus(session, list(first_row))
    codes = _row_codes(session, upload.rows)
    held = codes_held(session, list({code for row_codes in codes for _, code in row_codes}))
    code_rows: dict[str, int] = {}  # each code (as compared) → the first row that has it
    for row, row_codes in zip(upload.rows, codes, strict=True):
        for _, code in row_codes:
            code_rows.setdefault(code, row.number)
    for row, row_codes in zip(upload.rows, codes, strict=True):
        fields, problems = product_fields(upload.read(row))
        row.problems = {**problems, **row.problems}
        sku = row.values.get("sku", "")
        if sku and "sku" not in row.problems:
            if sku.lower() in taken:
                row.problems["sku"] = gettext(
                    "The SKU %(sku)s is already used by “%(taken)s” in your products.",
                    sku=sku,
                    taken=taken[sku.lower()],
                )
            elif first_row[sku.lower()] != row.number:
                row.problems["sku"] = gettext(
                    "The SKU %(sku)s is also on row %(first_row)s of this file; "
                    "each product needs its own SKU.",
                    sku=sku,
                    first_row=first_row[sku.lower()],
                )
        for column, code in row_codes:
            if column in row.problems:
                continue
            written = row.values.get(column, "")
            if code in held:
                row.problems[column] = f"“{held[code]}” already has the code {written}."
            elif code_rows[code] != row.number:
                row.problems[column] = gettext(
                    "The code %(written)s is also on row %(code_rows)s of this "
                    "file; each product needs its own SKU and barcode.",
                    written=written,
                    code_rows=code_rows[code],
                )
        if not row.problems:
            row.product = fields


def _row_codes(session: Session, rows: list[Row]) -> list[list[tuple[str, str]]]:
    """Each row's SKU and barcode as codes are compared (`product_code()`, asked of the
    database in one query: one home for the rule), barcode first; a row whose SKU and barcode
    are one code has it once."""
    written = sorted({row.values.get(c, "") for row in rows for c in ("barcode", "sku")} - {""})
    compared = normalized_codes(session, written)
    found: list[list[tuple[str, str]]] = []
    for row in rows:
        row_codes: dict[str, str] = {}
        for column in ("barcode", "sku"):
            code = compared.get(row.values.get(column, ""))
            if code is not None:
                row_codes.setdefault(code, column)
        found.append([(column, code) for code, column in row_codes.items()])
    return found


def _existing_skus(session: Session, skus: list[str]) -> dict[str, str]:
    """SKUs of the file the business already uses (any case) → that product's name: one query
    for the file (what `products.operations.sku_taken` asks of one SKU)."""
    found: dict[str, str] = {}
    for start in range(0, len(skus), 1000):
        statement = select(func.lower(Product.sku), Product.name).where(
            func.lower(Product.sku).in_(skus[start : start + 1000])
        )
        found.update({sku: name for sku, name in session.execute(statement)})
    return found
