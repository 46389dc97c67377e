"""What the browser is given: no inline code in any template, the security headers on every
response, and hostile names shown as text on every page, print view, receipt and CSV."""

from __future__ import annotations

import csv
import io
import re
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import Shop, api_auth, csrf_token, login, redate_sale
from tests.routes import Rows, fill, methods, rules, seed
from webapp import CONTENT_SECURITY_POLICY
from webapp.embedded import DatabaseUrls

TEMPLATES = Path(__file__).resolve().parent.parent / "webapp" / "templates"

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("x")'
ATTRIBUTE_BREAK = "\"'><img src=x onerror=alert(1)>"
HOSTILE = (SCRIPT, FORMULA, ATTRIBUTE_BREAK)

EVENT_HANDLER = re.compile(r"on[a-z]+")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class Page(HTMLParser):
    """A rendered page: what in it would run, and the text and attribute values it shows."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.shown: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = f"line {self.getpos()[0]}: <{tag}>"
        values = dict(attrs)
        if tag == "script" and not values.get("src"):
            self.problems.append(f"{where} inline script")
        if tag == "style":
            self.problems.append(f"{where} inline style sheet")
        if tag == "img" and values.get("src") == "x":
            self.problems.append(f"{where} an injected element")
        for name, value in attrs:
            if EVENT_HANDLER.fullmatch(name):
                self.problems.append(f"{where} handler {name}=")
            if name == "style":
                self.problems.append(f"{where} style=")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"{where} javascript: URL")
            self.shown.append(value or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.shown.append(data)

    def shows(self, text: str) -> bool:
        return any(text in part for part in self.shown)


# In raw template text (Jinja and all): an element with an inline handler or style, an inline
# script or style sheet, a javascript: URL.
TEMPLATE_PROBLEMS = {
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE),
    "inline style sheet": re.compile(r"<style\b", re.IGNORECASE),
    "on…= handler": re.compile(r"<[a-z][^<>]*?\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL),
    "style= attribute": re.compile(r"<[a-z][^<>]*?\sstyle\s*=", re.IGNORECASE | re.DOTALL),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def test_no_template_has_inline_script_handlers_or_styles() -> None:
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 10
    problems = []
    for template in templates:
        text = template.read_text()
        name = template.relative_to(TEMPLATES)
        problems += [
            f"{name}: {what}: {match.group(0)[:80]!r}"
            for what, pattern in TEMPLATE_PROBLEMS.items()
            for match in pattern.finditer(text)
        ]
        problems += [f"{name}: {problem}" for problem in Page(text).problems]
    assert problems == []


def test_the_template_checks_catch_what_they_look_for() -> None:
    for bad in (
        "<script>alert(1)</script>",
        '<a href="#" onclick="go()">x</a>',
        '<p\n  style="color: red">x</p>',
        '<a href="javascript:go()">x</a>',
        "<style>p { color: red }</style>",
    ):
        assert any(p.search(bad) for p in TEMPLATE_PROBLEMS.values()), bad
        assert Page(bad).problems, bad
    fine = '<script src="/static/js/x.js"></script><p class="online">on hand: 5</p>'
    assert not any(p.search(fine) for p in TEMPLATE_PROBLEMS.values())
    assert Page(fine).problems == []


def test_the_policy_allows_no_inline_code() -> None:
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in CONTENT_SECURITY_POLICY.split("; ")
    )
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert "unsafe" not in CONTENT_SECURITY_POLICY


# A shared statement's address carries its token: it sends no Referer at all.
SHARED_STATEMENT_HEADERS = {**HEADERS, "Referrer-Policy": "no-referrer"}


def _missing_headers(response: TestResponse, *, static: bool = False) -> list[str]:
    shared = response.request.path.startswith("/s/")
    expected = SHARED_STATEMENT_HEADERS if shared else HEADERS
    missing = [
        f"{name}: {response.headers.get(name)!r}"
        for name, value in expected.items()
        if response.headers.get(name) != value
    ]
    if not response.headers.get("Permissions-Policy"):
        missing.append("Permissions-Policy")
    if not static and response.headers.get("Cache-Control") != "no-store":
        missing.append(f"Cache-Control: {response.headers.get('Cache-Control')!r}")
    return missing


def _get_every_page(app: Flask, client: FlaskClient, rows: Rows) -> dict[str, TestResponse]:
    return {
        route.path: client.get(route.path)
        for rule in rules(app)
        if "GET" in methods(rule)
        for route in fill(rule, rows.ids)
    }


def test_every_response_carries_the_security_headers(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    rows = seed(app, database.admin, shop)
    anonymous, owner, clerk, api = (app.test_client() for _ in range(4))
    assert login(owner, shop.slug, shop.owner_email).status_code == 302
    assert login(clerk, shop.slug, shop.clerk_email).status_code == 302

    responses: dict[str, TestResponse] = {}
    for who, client in (("anonymous", anonymous), ("owner", owner), ("clerk", clerk)):
        for path, response in _get_every_page(app, client, rows).items():
            responses[f"{who} GET {path}"] = response
        responses[f"{who} missing page"] = client.get("/no-such-page")
        responses[f"{who} missing customer"] = client.get(f"/customers/{uuid.uuid4()}")
        responses[f"{who} GET of a POST route"] = client.get("/logout")
        responses[f"{who} POST without CSRF"] = client.post("/sales/new", data={})
    for rule in rules(app):
        if rule.endpoint.startswith("api."):
            for route in fill(rule, rows.ids):
                for method in methods(rule):
                    response = api.open(route.path, method=method, headers=rows.auth, json={})
                    responses[f"API {method} {route.path}"] = response
                    responses[f"API {method} {route.path} without a token"] = api.open(
                        route.path, method=method, json={}
                    )
    responses["API missing customer"] = api.get(f"/api/customers/{uuid.uuid4()}", headers=rows.auth)

    statuses = {response.status_code for response in responses.values()}
    assert {200, 302, 400, 401, 403, 404, 405} <= statuses, statuses
    assert not [name for name, r in responses.items() if r.status_code >= 500]
    problems = {
        name: missing
        for name, response in responses.items()
        if (missing := _missing_headers(response))
    }
    assert problems == {}
    # Signed-in pages, what they showed and what the API answered: never kept in a cache.
    signed_in = [name for name in responses if name.startswith(("owner", "clerk"))]
    assert all(responses[name].headers["Cache-Control"] == "no-store" for name in signed_in)

    with anonymous.get("/static/css/app.css") as static:
        assert static.status_code == 200
        assert _missing_headers(static, static=True) == []
    https = owner.get("/", base_url="https://localhost")
    assert https.headers["Strict-Transport-Security"].startswith("max-age=")


def _hostile_shop(app: Flask, database: DatabaseUrls, shop: Shop) -> list[Rows]:
    """Two customers and two products with hostile names, each sold and paid, overdue."""
    first = seed(
        app,
        database.admin,
        shop,
        customer_name=SCRIPT,
        product_name=FORMULA,
        phone=ATTRIBUTE_BREAK,
    )
    second = seed(
        app, database.admin, shop, customer_name=FORMULA, product_name=SCRIPT, phone="=1+2"
    )
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE users SET name = %s WHERE id = %s", (ATTRIBUTE_BREAK, shop.clerk_id))
        conn.execute(
            "UPDATE customers SET notes = %s, email = %s WHERE business_id = %s",
            (SCRIPT + ATTRIBUTE_BREAK, "a@b.c", shop.business_id),
        )
        conn.execute(
            "UPDATE products SET sku = left(name, 20) || id WHERE business_id = %s",
            (shop.business_id,),
        )
    for rows in (first, second):
        redate_sale(database.admin, rows.ids["sale"], -45, created_days_ago=75)
    return [first, second]


def _query_variants(rows: Rows) -> list[str]:
    ids = rows.ids
    return [
        "",
        "?" + urlencode({"q": SCRIPT}),
        "?" + urlencode({"customer": ids["customer"], "sale": ids["sale"]}),
        "?"
        + urlencode(
            {
                "q": FORMULA,
                "customer": ATTRIBUTE_BREAK,
                "date_from": ATTRIBUTE_BREAK,
                "date_to": SCRIPT,
                "page": ATTRIBUTE_BREAK,
                "min_days": SCRIPT,
                "sort": ATTRIBUTE_BREAK,
                "method": SCRIPT,
                "next": "javascript:alert(1)",
            }
        ),
    ]


def _csv_problems(path: str, response: TestResponse) -> list[str]:
    """In an export of the shop's data, no cell a spreadsheet would run as a formula."""
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    if not any(SCRIPT in cell for row in rows for cell in row):
        return []  # not an export of these rows (a fixed example file)
    problems = []
    for number, row in enumerate(rows):
        for cell in row:
            number_cell = re.fullmatch(r"-?\d+(\.\d+)?", cell)
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not number_cell:
                problems.append(f"{path} row {number}: {cell!r} would run as a formula")
    return problems


def test_hostile_names_are_shown_as_text_everywhere(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    hostile = _hostile_shop(app, database, shop)
    pages: dict[str, Page] = {}
    problems: list[str] = []
    seen_csv = []
    for rows in hostile:
        for rule in rules(app):
            if "GET" not in methods(rule) or rule.endpoint.startswith("api."):
                continue
            for route in fill(rule, rows.ids):
                variants = _query_variants(rows) if not rule.arguments else [""]
                for query in variants:
                    path = route.path + query
                    response = owner_client.get(path)
                    if response.status_code >= 500:
                        problems.append(f"{path}: {response.status_code}")
                        continue
                    if response.mimetype == "text/csv":
                        seen_csv.append(path)
                        problems += _csv_problems(path, response)
                        continue
                    if response.mimetype != "text/html":
                        continue
                    html = response.get_data(as_text=True)
                    problems += [f"{path}: raw {text!r}" for text in HOSTILE if text in html]
                    page = Page(html)
                    problems += [f"{path}: {problem}" for problem in page.problems]
                    pages[path] = page
    reflected = owner_client.get("/" + SCRIPT)
    assert reflected.status_code == 404
    assert SCRIPT not in reflected.get_data(as_text=True)
    assert problems == []

    # The walk saw the hostile rows where they are shown, as text.
    first, second = (rows.ids for rows in hostile)
    both = (SCRIPT, FORMULA)
    expected = {
        f"/customers/{first['customer']}": (SCRIPT,),
        f"/customers/{first['customer']}/statement": (SCRIPT,),
        f"/customers/{second['customer']}/edit": (FORMULA,),
        f"/sales/{first['sale']}": both,  # customer and product
        f"/sales/{second['sale']}": both,
        f"/payments/{first['payment']}": (SCRIPT,),
        f"/payments/{second['payment']}": (FORMULA,),
        # The sale form lists no products until some are found (see below).
        f"/sales/new?customer={first['customer']}&sale={first['sale']}": (SCRIPT,),
        f"/payments/new?customer={second['customer']}&sale={second['sale']}": (FORMULA,),
        f"/products/{first['product']}": (FORMULA,),
        "/sales": both,
        "/payments": both,
        "/overdue": both,
        "/overdue/print": both,
        "/customers": both,
        "/products": both,
    }
    for path, names in expected.items():
        assert path in pages, f"the walk did not reach {path}"
        for name in names:
            assert pages[path].shows(name), (path, name)
    assert pages[f"/sales/{first['sale']}"].shows(ATTRIBUTE_BREAK)  # who recorded it

    # The sale form shows the products it finds, and its lines, as text too.
    path = f"/sales/new?customer={first['customer']}"
    form = owner_client.get(path).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', form)
    assert key
    found = owner_client.post(
        "/sales/new",
        data={
            "csrf_token": csrf_token(owner_client, path),
            "idempotency_key": key.group(1),
            "customer_id": str(first["customer"]),
            "product": [str(second["product"])],
            "quantity": ["1"],
            "action": "find",
            "find": "HYPERLINK",
        },
    )
    html = found.get_data(as_text=True)
    page = Page(html)
    assert [text for text in HOSTILE if text in html] == [] and page.problems == []
    assert page.shows(FORMULA) and page.shows(SCRIPT)  # a match, and a line

    # The CSV: every hostile cell, and a formula neutralised.
    assert "/overdue.csv" in seen_csv
    export = list(csv.reader(io.StringIO(owner_client.get("/overdue.csv").get_data(as_text=True))))
    cells = {cell for row in export for cell in row}
    assert {SCRIPT, ATTRIBUTE_BREAK, "'" + FORMULA, "'=1+2"} <= cells
    assert FORMULA not in cells

    # The API answers data, never a page: JSON, which a browser does not render.
    auth = api_auth(app, shop.slug)
    client = app.test_client()
    found = client.get(f"/api/customers/{first['customer']}", headers=auth)
    assert found.mimetype == "application/json"
    assert found.get_json()["name"] == SCRIPT
    assert found.headers["X-Content-Type-Options"] == "nosniff"
    for rule in rules(app):
        if rule.endpoint.startswith("api.") and "GET" in methods(rule):
            for route in fill(rule, first):
                assert client.get(route.path, headers=auth).mimetype == "application/json"


@pytest.mark.parametrize("name", [SCRIPT, FORMULA])
def test_a_hostile_name_is_text_on_the_sale_form(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop, name: str
) -> None:
    """Typed into the search box and shown back, in the results and the search field."""
    seed(app, database.admin, shop, customer_name=name)
    for path in ("/sales/new", "/payments/new", "/customers"):
        page = owner_client.get(path + "?" + urlencode({"q": name}))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert name not in html
        parsed = Page(html)
        assert parsed.problems == []
        assert sum(part.count(name) for part in parsed.shown) >= 2, path  # result and query
