"""The overdue list at a real shop's size: the pager that says how many, the Excel file with
typed cells, the CSV with a byte order mark, and the printout's numbered pages."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from playwright.sync_api import Page
from pypdf import PdfReader

from tests.browser import sign_in
from tests.helpers import Shop
from webapp.embedded import DatabaseUrls

HOSTILE = '=HYPERLINK("http://evil.test","click")'


def _overdue_customers(database: DatabaseUrls, shop: Shop, count: int) -> None:
    """`count` customers, each owing 10.00 on one sale due 40 days ago, written as the ledger
    writes them (then its summaries rebuilt); the first is named like a formula."""
    with psycopg.connect(database.admin) as conn:
        conn.execute(
            """WITH made AS (
                   INSERT INTO customers (business_id, name, phone, credit_limit, balance)
                   SELECT %(b)s, CASE n WHEN 1 THEN %(hostile)s ELSE 'Customer ' || n END,
                          '+2547990' || lpad(n::text, 5, '0'), 100, 10
                     FROM generate_series(1, %(count)s) n
                   RETURNING id
               )
               INSERT INTO orders (business_id, customer_id, total, due_on, created_by,
                                   idempotency_key, balance_after, number, created_at)
               SELECT %(b)s, id, 10, current_date - 40, %(clerk)s, gen_random_uuid(), 10,
                      row_number() OVER (), now() - interval '70 days'
                 FROM made""",
            {"b": shop.business_id, "hostile": HOSTILE, "count": count, "clerk": shop.clerk_id},
        )
        conn.execute(
            "INSERT INTO document_counters VALUES (%s, 'sale', %s)", (shop.business_id, count)
        )
        conn.execute("SELECT rebuild_due_summaries(%s)", (shop.business_id,))


def test_the_pager_says_which_page_of_how_many(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    _overdue_customers(database, shop, 120)
    first = owner_client.get("/overdue").get_data(as_text=True)
    assert "Page 1 of 3 · 120 customers" in first
    assert "Last »" in first and "« First" not in first
    second = owner_client.get("/overdue?page=2").get_data(as_text=True)
    assert "Page 2 of 3 · 120 customers" in second and "« First" in second
    # Past the end (the list got shorter since the link was made): the last page.
    beyond = owner_client.get("/overdue?page=99").get_data(as_text=True)
    assert "Page 3 of 3 · 120 customers" in beyond
    assert len(re.findall(r'<tr>\s*<td><a href="/customers/', beyond)) == 20


def test_the_excel_file_has_typed_cells_and_no_formulas(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    _overdue_customers(database, shop, 3)
    response = owner_client.get("/overdue.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Customer", "Phone", "Balance", "Overdue amount")
    names = {row[0]: row for row in rows[1:-1]}
    hostile = names[HOSTILE]
    assert hostile[1] == "+254799000001"  # a phone as text, as typed: no apostrophe
    assert hostile[2] == 10 and isinstance(hostile[4], datetime)
    assert hostile[4].date() == date.today() - timedelta(days=40)
    assert rows[-1][0] == "3 customers" and rows[-1][2] == 30
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]  # no formula
    (hostile_cell,) = [cell for cell in sheet["A"] if cell.value == HOSTILE]
    assert hostile_cell.data_type == "s"  # the formula-like name is a string
    assert '"$"#,##0.00' in sheet["C2"].number_format


def test_the_csv_has_a_byte_order_mark_and_neutralises_formulas(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    _overdue_customers(database, shop, 2)
    body = owner_client.get("/overdue.csv").get_data()
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert text.startswith("Customer,Phone,")
    assert "'=HYPERLINK" in text


@pytest.mark.browser
def test_the_printout_numbers_its_pages(
    page: Page, live_server: str, app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    _overdue_customers(database, shop, 120)
    sign_in(page, live_server, shop, shop.owner_email)
    page.goto(f"{live_server}/overdue/print")
    page.emulate_media(media="print")
    reader = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    count = len(reader.pages)
    assert count >= 2
    assert f"Page 1 of {count}" in reader.pages[0].extract_text()
    assert f"Page {count} of {count}" in reader.pages[-1].extract_text()
    # Landscape, as the list is wide.
    box = reader.pages[0].mediabox
    assert box.width > box.height
