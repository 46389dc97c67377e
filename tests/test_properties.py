"""Generated input (Hypothesis) sent to every form, every API endpoint and every page's query
string, read from `app.url_map` so new routes are covered: huge, negative and many-decimal
numbers, empty strings, unicode, HTML and SQL fragments, missing and repeated fields, wrong JSON
types, oversized bodies. Never a 500, never a traceback or database message, and the ledger's
invariants hold afterwards.

How the examples share state: each test builds its world once (two businesses with a customer,
a product, a sale, a payment, a token; the owner signed in) and runs its examples inside it, one
after another, by calling an inner @given function from the test. The database is emptied only
after the test, so each example meets whatever the examples before it wrote: that is intended,
since what is checked (no 500, no leak, a clean ledger) must hold in any state. What an example
may undo that the next one needs (the owner signed out, demoted or deactivated, the API token
revoked) is put back before each example by World.restore().
"""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter, UUIDConverter
from werkzeug.test import TestResponse

from tests.helpers import Shop, app_config, csrf_token, login
from tests.routes import (
    ID_PARAMETERS,
    OTHER_PARAMETERS,
    PLAUSIBLE,
    Form,
    Rows,
    fill,
    harvest_forms,
    is_id_parameter,
    methods,
    read_forms,
    rules,
    seed,
)
from webapp import create_app
from webapp.db import sqlalchemy_url
from webapp.embedded import DatabaseUrls
from webapp.extensions import limiter
from webapp.ledger_check import find_violations

# What a response must never contain, whatever it was sent.
LEAKS = (
    "Traceback",
    "psycopg",
    "SQLSTATE",
    "violates",
    "sqlalchemy",
    "OperationalError",
    "IntegrityError",
    'File "/',
)
# SHOPCREDIT_FUZZ_EXAMPLES=300 for a longer hunt than the suite's.
EXAMPLES = settings(
    max_examples=int(os.environ.get("SHOPCREDIT_FUZZ_EXAMPLES", "30")),
    deadline=None,
    database=None,  # nothing written into the repository; a failure prints its example
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _routes_at_collection() -> list[Rule]:
    """The app's routes, from an app that never connects (its database URL is not used)."""
    nowhere = "postgresql://nobody@127.0.0.1:1/nowhere"
    app = create_app(app_config(DatabaseUrls(nowhere, nowhere), CHECK_DATABASE_ROLE=False))
    return rules(app)


ROUTES = _routes_at_collection()
POST_ENDPOINTS = sorted({r.endpoint for r in ROUTES if "POST" in methods(r)})
GET_ENDPOINTS = sorted({r.endpoint for r in ROUTES if "GET" in methods(r)})

# ---------------------------------------------------------------------------------------------
# Values

FRAGMENTS = (
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    '=HYPERLINK("x")',
    "'; DROP TABLE customers; --",
    "' OR '1'='1",
    "1; SELECT pg_sleep(10)",
    "%",
    "_",
    "\\",
    "{{7*7}}",
    "${7*7}",
    "../../etc/passwd",
    "\u202etxt.exe",
    "😀",
    "ﷺ",
    "\r\n",
    " ",
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "1e999",
    "1e-999",
    "0x10",
    "１２３",
    "٣٫٥",
    "²",
    "1,000.00",
    "1.000,00",
    "12.345",
    "0.001",
    "-5",
    "99999999999999999999999999",
    "true",
    "null",
    "[]",
    "{}",
)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,12})?", fullmatch=True),
)
TEXT = st.text(
    alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=120
)
LONG_TEXT = st.text(alphabet="ab <>'\"é€", min_size=300, max_size=5000)
VALUES = st.one_of(st.just(""), st.sampled_from(FRAGMENTS), NUMBERS, TEXT, LONG_TEXT)

LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    VALUES,
)
JSON = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
# Keys an API body may carry, beyond those of the items of a sale.
API_KEYS = (
    "customer_id",
    "order_id",
    "product_id",
    "amount",
    "method",
    "note",
    "name",
    "phone",
    "email",
    "notes",
    "credit_limit",
    "opening_balance",
    "price",
    "sku",
    "stock",
    "is_active",
    "idempotency_key",
    "business_id",
)
QUERY_KEYS = (
    "q",
    "page",
    "customer",
    "sale",
    "product",
    "date_from",
    "date_to",
    "min_days",
    "sort",
    "method",
    "archived",
    "low",
    "limit",
    "next",
)
# Form fields that name a row (blank on the page): the kind of row.
ID_FIELDS = {
    "customer_id": "customer",
    "order_id": "sale",
    "product": "product",
    "product_id": "product",
    "user_id": "user",
}


# Plausible values that must differ from one example to the next (unique per business).
FRESH = {
    "email": st.from_regex(r"[a-z]{3,8}[0-9]{0,5}@example\.com", fullmatch=True),
    "sku": st.one_of(st.just(""), st.from_regex(r"[A-Z]{2,4}-[0-9]{1,7}", fullmatch=True)),
}


# ---------------------------------------------------------------------------------------------
# The world the examples of one test share


@dataclass
class World:
    app: Flask
    shop: Shop
    a: Rows
    b: Rows
    owner: FlaskClient
    admin: psycopg.Connection
    ledger: Connection
    import_examples: dict[str, list[list[str]]]  # kind → the rows of its example file
    forms: dict[str, Form] = field(default_factory=dict)
    csrf: str = ""
    session_version: int = 1
    # An idempotency key examples send again and again: replays of one form or call.
    replayed_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    nobody: str = field(default_factory=lambda: str(uuid.uuid4()))  # an id of no row
    # How many times each endpoint's view function ran: an example refused before its view
    # (CSRF, sign-in, a before_request) tested the guard, not the view.
    views: Counter[str] = field(default_factory=Counter)

    def ids(self, kind: str) -> list[str]:
        """Ids to put where a row of `kind` is named: A's own, B's, one that is no row."""
        ours = [str(self.a.ids[kind])] if kind in self.a.ids else []
        theirs = [str(self.b.ids[kind])] if kind in self.b.ids else []
        return [*ours, *ours, *ours, *theirs, self.nobody]

    def restore(self) -> None:
        """Put back what an example may have taken away from the next: the owner signed in
        as an active owner, A's API token, customer and product, sign-in attempts."""
        ((version,),) = self.admin.execute(
            """WITH owner AS (
                   UPDATE users SET role = 'owner', is_active = true
                    WHERE id = %(owner)s AND (role <> 'owner' OR NOT is_active)),
               customer AS (
                   UPDATE customers SET is_archived = false
                    WHERE id = %(customer)s AND is_archived),
               product AS (
                   UPDATE products SET is_active = true WHERE id = %(product)s AND NOT is_active),
               token AS (
                   UPDATE api_tokens
                      SET revoked_at = NULL, revoked_reason = NULL, revoked_by = NULL
                    WHERE business_id = %(business)s AND revoked_at IS NOT NULL)
               SELECT session_version FROM users WHERE id = %(owner)s""",
            {
                "owner": self.shop.owner_id,
                "customer": self.a.ids["customer"],
                "product": self.a.ids["product"],
                "business": self.shop.business_id,
            },
        ).fetchall()
        limiter.reset()  # examples may have used up the sign-in attempts
        with self.owner.session_transaction() as session:
            signed_in = "_user_id" in session
        if not signed_in or version != self.session_version or not self.csrf:
            self.owner = self.app.test_client()
            assert login(self.owner, self.shop.slug, self.shop.owner_email).status_code == 302
            self.session_version = version
            self.csrf = csrf_token(self.owner, "/")

    def violations(self) -> list[str]:
        found = [str(v) for v in find_violations(self.ledger)]
        self.ledger.rollback()
        return found


def _counted(view: Callable[..., Any], endpoint: str, views: Counter[str]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        views[endpoint] += 1
        return view(*args, **kwargs)

    return counted


@pytest.fixture
def world(
    app: Flask,
    database: DatabaseUrls,
    shop: Shop,
    other_shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    a = seed(app, database.admin, shop)
    b = seed(app, database.admin, other_shop, customer_name="Other Shop Customer")
    owner = app.test_client()
    assert login(owner, shop.slug, shop.owner_email).status_code == 302
    engine = create_engine(sqlalchemy_url(database.admin), poolclass=NullPool)
    with psycopg.connect(database.admin, autocommit=True) as admin, engine.connect() as ledger:
        examples = {
            kind: list(csv.reader(io.StringIO(response.get_data(as_text=True))))
            for kind in ("customers", "products")
            if (response := owner.get(f"/import/{kind}/example.csv")).status_code == 200
        }
        world = World(app, shop, a, b, owner, admin, ledger, examples)
        for endpoint, view in list(app.view_functions.items()):
            monkeypatch.setitem(app.view_functions, endpoint, _counted(view, endpoint, world.views))
        world.restore()
        yield world
    engine.dispose()


def assert_clean(response: TestResponse, what: str) -> str:
    data = response.get_data()
    if data.startswith(b"PK"):  # a workbook (the overdue list's .xlsx): its parts' XML
        with zipfile.ZipFile(io.BytesIO(data)) as parts:
            body = "".join(parts.read(name).decode("utf-8") for name in parts.namelist())
    else:
        body = data.decode("utf-8")
    assert response.status_code < 500, f"{what}: {response.status_code}\n{body[:2000]}"
    for leak in LEAKS:
        assert leak not in body, f"{what}: {leak!r} in the answer\n{body[:2000]}"
    return body


def assert_views_reached(world: World, endpoint: str, sent: int, reached: int) -> None:
    """Most of the examples that carried valid credentials (a CSRF token, an API token) ran
    the endpoint's view: generated input that never gets past the guards tests nothing."""
    assert sent > 0, f"{endpoint}: no example carried valid credentials"
    assert reached * 2 >= sent, (
        f"{endpoint}: only {reached} of {sent} examples with valid credentials reached the view"
    )


def _rule(app: Flask, endpoint: str, method: str) -> Rule:
    found = [r for r in rules(app) if r.endpoint == endpoint and method in methods(r)]
    assert found, f"{endpoint} has no {method} route"
    return found[0]


@st.composite
def paths(draw: st.DrawFn, rule: Rule, world: World) -> str:
    """The rule with each parameter drawn: ids of A, of B and of nothing; text for a parameter
    that is not a UUID in the URL."""
    values: dict[str, str] = {}
    for name in sorted(rule.arguments):
        converter = rule._converters[name]  # werkzeug keeps converters only here
        if isinstance(converter, AnyConverter):
            values[name] = draw(st.sampled_from(sorted(converter.items)))
            continue
        if name in OTHER_PARAMETERS and not is_id_parameter(rule, name):
            # Text in the path (a shared statement's token): A's or B's real one, the walk's
            # value, or any text that stays one path segment.
            real = [world.a.statement_token, world.b.statement_token, *OTHER_PARAMETERS[name]]
            one_segment = VALUES.filter(lambda value: value.strip(".") and "/" not in value)
            values[name] = draw(st.one_of(st.sampled_from(real), one_segment))
            continue
        assert name in ID_PARAMETERS, f"{rule.rule}: add {name!r} to tests/routes.py"
        choices = st.sampled_from(world.ids(ID_PARAMETERS[name]))
        if not isinstance(converter, UUIDConverter):
            choices = st.one_of(choices, VALUES.filter(bool))
        values[name] = draw(choices)
    built = rule.build(values, append_unknown=False)
    assert built is not None
    return built[1]


def hostile_values(name: str, world: World) -> st.SearchStrategy[list[str] | None]:
    """A field sent wrong: left out (None), repeated, or one odd value (another business's
    or no row's id for a field that names a row)."""
    odd = VALUES
    if name in ID_FIELDS:
        odd = st.one_of(st.sampled_from(world.ids(ID_FIELDS[name])), VALUES)
    return st.one_of(
        odd.map(lambda v: [v]),
        st.none(),
        st.lists(st.one_of(st.just(PLAUSIBLE.get(name, "")), odd), min_size=2, max_size=3),
    )


@st.composite
def form_bodies(draw: st.DrawFn, endpoint: str, path: str, world: World) -> MultiDict[str, Any]:
    """The form as its page renders it, filled in plausibly, with a few fields (or none, so
    that forms also go through) sent wrong, and sometimes a bad CSRF token or extra fields."""
    form = world.forms.get(endpoint)
    fields = list(form.fields) if form else [(name, "") for name in PLAUSIBLE]
    names = list(dict.fromkeys(name for name, _ in fields if name not in ("csrf_token",)))
    rows = "product" in names
    if rows:
        names = [name for name in names if name not in ("product", "quantity")]
    defaults = dict(fields)
    # Each field is sent wrong with a chance of 1 in (fields + 1): often none, often one.
    wrong = {name for name in names if draw(st.integers(min_value=0, max_value=len(names))) == 0}

    data: list[tuple[str, Any]] = []
    csrf = draw(st.sampled_from([world.csrf] * 8 + ["", "not-a-token"]))
    if csrf:
        data.append(("csrf_token", csrf))
    for name in names:
        if name in wrong:
            data += [(name, value) for value in draw(hostile_values(name, world)) or []]
        elif name == "idempotency_key":
            data.append((name, draw(st.one_of(st.uuids().map(str), st.just(world.replayed_key)))))
        else:
            value = (
                defaults.get(name)
                or (world.shop.slug if name == "business" else "")  # the sign-in's shop code
                or draw(FRESH.get(name, st.just(PLAUSIBLE.get(name, ""))))
            )
            if not value and name in ID_FIELDS:
                value = str(world.a.ids[ID_FIELDS[name]])
            data.append((name, value))
    if rows:
        good = st.tuples(st.just(str(world.a.ids["product"])), st.sampled_from(["1", "2", "3"]))
        odd = st.tuples(
            st.one_of(st.sampled_from(["", *world.ids("product")]), VALUES),
            st.one_of(st.sampled_from(["0", "-1", "100001", "", "1.5"]), VALUES),
        )
        line = st.one_of(good, good, good, odd)
        for product, quantity in draw(st.lists(line, max_size=7)):
            data += [("product", product), ("quantity", quantity)]
        if draw(st.integers(0, 9)) == 0:  # Find (the sale form's other step), with any text
            data += [("action", "find"), ("find", draw(VALUES))]
    for name in form.files if form else ():
        kind = "products" if "/products" in path else "customers"
        content = draw(
            st.one_of(
                csv_uploads(world.import_examples.get(kind, [])),
                csv_uploads(world.import_examples.get(kind, [])),
                st.lists(
                    st.lists(VALUES.filter(lambda v: len(v) < 200), min_size=1, max_size=7),
                    max_size=6,
                ).map(_csv_text),
                st.binary(max_size=2000),
            )
        )
        data.append((name, (io.BytesIO(content), "upload.csv")))
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=12), VALUES, max_size=2))
    data += [(k, v) for k, v in extra.items() if k not in ("csrf_token", "file")]
    return MultiDict(data)


@st.composite
def csv_uploads(draw: st.DrawFn, example: list[list[str]]) -> bytes:
    """A file like the import's example (its header, rows like its rows with new names and
    SKUs), with a cell sent wrong now and then."""
    if len(example) < 2:
        return b""
    header, samples = example[0], example[1:]
    rows = [header]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        row = list(draw(st.sampled_from(samples)))
        for index, column in enumerate(header[: len(row)]):
            if "sku" in column.lower():
                row[index] = draw(FRESH["sku"])
            elif "name" in column.lower():
                row[index] = f"{row[index]} {draw(st.integers(min_value=0, max_value=10**6))}"
            if draw(st.integers(min_value=0, max_value=6)) == 0:
                row[index] = draw(VALUES.filter(lambda v: len(v) < 200))
        rows.append(row)
    return _csv_text(rows)


def _csv_text(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


DELETED = object()


@st.composite
def api_bodies(draw: st.DrawFn, world: World) -> tuple[bytes, str]:
    """(body, content type): a plausible JSON object for any of the API's endpoints (each
    ignores the keys of the others) with a few keys sent wrong; or JSON of the wrong shape;
    or not JSON at all."""
    a = world.a.ids
    body: dict[str, Any] = {
        "customer_id": str(a["customer"]),
        "items": [{"product_id": str(a["product"]), "quantity": 1}],
        "amount": "1.00",
        "method": "cash",
        "note": "",
        "name": "A name",
        "price": "2.50",
        "stock": 3,
        "credit_limit": "10.00",
        "idempotency_key": draw(st.one_of(st.uuids().map(str), st.just(world.replayed_key))),
    }
    kinds = {"customer_id": "customer", "order_id": "sale", "product_id": "product"}
    for key in draw(st.sets(st.sampled_from([*API_KEYS, "items"]), max_size=3)):
        if key == "items":
            item = st.fixed_dictionaries(
                {},
                optional={
                    "product_id": st.one_of(st.sampled_from(world.ids("product")), JSON),
                    "quantity": st.one_of(st.integers(min_value=-5, max_value=200_000), JSON),
                },
            )
            value = draw(st.one_of(st.lists(item, max_size=4), JSON, st.just(DELETED)))
        elif key in kinds:
            value = draw(st.one_of(st.sampled_from(world.ids(kinds[key])), JSON, st.just(DELETED)))
        elif key == "business_id":
            value = draw(st.one_of(st.just(str(world.shop.business_id)), JSON))
        else:
            value = draw(st.one_of(JSON, st.just(DELETED)))
        if value is DELETED:
            body.pop(key, None)
        else:
            body[key] = value
    plausible = (json.dumps(body).encode(), "application/json")
    return draw(
        st.one_of(
            st.just(plausible),
            st.just(plausible),
            st.just(plausible),
            st.just((plausible[0], "text/plain")),
            JSON.map(lambda v: (json.dumps(v).encode(), "application/json")),
            st.sampled_from(
                [
                    b'{"amount": NaN, "items": [{"quantity": Infinity}]}',
                    b'{"customer_id": "x", "customer_id": "y"}',
                    b'{"items": [{"product_id": null, "quantity": 1e400}]}',
                    b"[1, 2",
                    b"\xff\xfe{}",
                    b"",
                ]
            ).map(lambda b: (b, "application/json")),
            st.binary(max_size=300).map(lambda b: (b, "application/json")),
            st.dictionaries(st.sampled_from(API_KEYS), VALUES, max_size=4).map(
                lambda d: (
                    "&".join(f"{k}={quote(v)}" for k, v in d.items()).encode(),
                    "application/x-www-form-urlencoded",
                )
            ),
        )
    )


# ---------------------------------------------------------------------------------------------
# The properties. Each test runs its endpoints one after another in one world (setting a world
# up costs more than thirty examples), and reports every endpoint that failed, not the first.

POST_BLUEPRINTS = sorted({endpoint.partition(".")[0] for endpoint in POST_ENDPOINTS})


def _each(endpoints: list[str], run: Any) -> None:
    failures = []
    for endpoint in endpoints:
        try:
            run(endpoint)
        except Exception as error:  # every endpoint's minimal failing example is reported
            notes = "\n".join(getattr(error, "__notes__", []))
            failures.append(f"--- {endpoint}: {type(error).__name__}: {error}\n{notes}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("blueprint", POST_BLUEPRINTS)
def test_no_generated_post_breaks_a_form_or_the_api(blueprint: str, world: World) -> None:
    if blueprint != "api":
        world.forms = harvest_forms(world.app, world.owner, world.a.ids, blueprint)
    if blueprint == "auth":  # the sign-in form, as someone not signed in sees it
        anonymous = harvest_forms(world.app, world.app.test_client(), world.a.ids, blueprint)
        world.forms = {**anonymous, **world.forms}
    endpoints = [e for e in POST_ENDPOINTS if e.partition(".")[0] == blueprint]
    _each(endpoints, lambda endpoint: _post_anything(world, endpoint))
    assert world.violations() == []


def _post_anything(world: World, endpoint: str) -> None:
    rule = _rule(world.app, endpoint, "POST")
    is_api = endpoint.startswith("api.")
    anonymous = endpoint == "auth.login"
    valid = Counter[str]()  # examples with valid credentials: sent, and reached the view

    @EXAMPLES
    @given(data=st.data())
    def post_anything(data: st.DataObject) -> None:
        world.restore()
        ran = world.views[endpoint]
        path = data.draw(paths(rule, world), label="path")
        if is_api:
            body, content_type = data.draw(api_bodies(world), label="body")
            auth = data.draw(
                st.sampled_from([world.a.auth] * 6 + [{}, {"Authorization": "Bearer sc_nope"}]),
                label="auth",
            )
            response = world.app.test_client().post(
                path, data=body, content_type=content_type, headers=auth
            )
            credentials = auth == world.a.auth
            reached = world.views[endpoint] > ran
            assert_clean(response, f"POST {path}")
            assert response.is_json, f"POST {path}: not JSON"
        else:
            form = data.draw(form_bodies(endpoint, path, world), label="form")
            client = world.app.test_client() if anonymous else world.owner
            if anonymous:
                form["csrf_token"] = csrf_token(client, "/login")
            credentials = form.get("csrf_token") == world.csrf or anonymous
            response = client.post(path, data=form)
            reached = world.views[endpoint] > ran
            page = assert_clean(response, f"POST {path}")
            _confirm_what_was_previewed(world, page, path)
        if credentials:
            valid["sent"] += 1
            valid["reached"] += reached
        assert world.violations() == []

    post_anything()
    assert_views_reached(world, endpoint, valid["sent"], valid["reached"])


def _confirm_what_was_previewed(world: World, page: str, path: str) -> None:
    """An import's preview offers to confirm: send it, as the owner would."""
    for form in read_forms(path, page):
        if form.action.endswith("/confirm"):
            response = world.owner.post(form.action, data=MultiDict(form.fields))
            assert_clean(response, f"POST {form.action}")


def test_no_generated_query_breaks_a_page(world: World) -> None:
    def run(endpoint: str) -> None:
        rule = _rule(world.app, endpoint, "GET")
        is_api = endpoint.startswith("api.")
        ran_before = world.views[endpoint]

        @settings(EXAMPLES, max_examples=max(EXAMPLES.max_examples // 3, 1))
        @given(data=st.data())
        def get_anything(data: st.DataObject) -> None:
            valid["sent"] += 1
            path = data.draw(paths(rule, world), label="path")
            query = data.draw(
                st.lists(st.tuples(st.sampled_from(QUERY_KEYS), VALUES), max_size=5),
                label="query",
            )
            url = path + "?" + "&".join(f"{k}={quote(v)}" for k, v in query)
            client = world.app.test_client() if is_api else world.owner
            with client.get(url, headers=world.a.auth if is_api else {}) as response:
                assert_clean(response, f"GET {url}")

        valid = Counter[str]()
        get_anything()
        assert_views_reached(world, endpoint, valid["sent"], world.views[endpoint] - ran_before)

    _each(GET_ENDPOINTS, run)


def test_an_oversized_body_is_refused_plainly(world: World) -> None:
    big = "9" * (3 * 1024 * 1024)
    answers = {}
    for endpoint in POST_ENDPOINTS:
        path = next(iter(fill(_rule(world.app, endpoint, "POST"), world.a.ids))).path
        if endpoint.startswith("api."):
            body = json.dumps({"customer_id": str(world.a.ids["customer"]), "note": big})
            response = world.app.test_client().post(
                path, data=body, content_type="application/json", headers=world.a.auth
            )
            assert response.is_json, path
        else:
            response = world.owner.post(path, data={"csrf_token": world.csrf, "note": big})
        assert_clean(response, f"POST {path}")
        answers[path] = response.status_code
    assert len(answers) == len(POST_ENDPOINTS)
    assert answers == dict.fromkeys(answers, 413)
    assert world.violations() == []
