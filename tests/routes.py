"""Walking every route of the app (`app.url_map`), for tests that must cover routes as they are
added: headers, escaping, other tenants, hostile input.

A route's parameters are filled from an explicit map. A parameter the map does not know makes
the walking test fail (it is never skipped silently): add it here, with the kind of row it names.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter, UUIDConverter

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    api_auth,
    fetch,
    pay,
    sell,
    signed_in,
    tenant_session,
)
from webapp import ledger
from webapp.share import links

# The name of a route's id parameter → the kind of row it names.
ID_PARAMETERS = {
    "customer_id": "customer",
    "product_id": "product",
    "order_id": "sale",
    "sale_id": "sale",
    "payment_id": "payment",
    "user_id": "user",
    "staff_id": "user",
    "member_id": "user",
    "token_id": "token",
    "api_token_id": "token",
    "import_id": "import",
    "movement_id": "movement",
    "return_id": "return",
    "link_id": "statement_link",
}
# Parameters that are not ids: the values each may take (an `any(...)` converter says its own).
OTHER_PARAMETERS: dict[str, tuple[str, ...]] = {
    # A shared statement's token: of the right shape, opening nothing (test_share.py opens real
    # ones).
    "token": ("A" * 43,),
}
# Endpoints no walk visits: files, not pages.
SKIPPED_ENDPOINTS = frozenset({"static"})
WALKED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class UnmappedParameter(AssertionError):
    """A route takes a parameter that tests/routes.py does not know how to fill."""


def is_id_parameter(rule: Rule, name: str) -> bool:
    converter = rule._converters.get(name)  # werkzeug keeps converters only here
    return isinstance(converter, UUIDConverter) or name == "id" or name.endswith("_id")


def takes_id(rule: Rule) -> bool:
    return any(is_id_parameter(rule, name) for name in rule.arguments)


def methods(rule: Rule) -> list[str]:
    return [method for method in WALKED_METHODS if method in (rule.methods or ())]


def rules(app: Flask) -> list[Rule]:
    """Every rule of the app but static files, in a stable order."""
    found = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED_ENDPOINTS]
    return sorted(found, key=lambda r: (r.rule, r.endpoint))


@dataclass(frozen=True)
class Route:
    rule: Rule
    path: str
    values: Mapping[str, str]

    def __str__(self) -> str:
        return f"{self.rule.endpoint} {self.path}"


def fill(rule: Rule, ids: Mapping[str, uuid.UUID | str]) -> Iterator[Route]:
    """The paths of `rule` with its id parameters set from `ids` (kind → id) and every value
    of its other parameters. Raises UnmappedParameter for a parameter no map knows."""
    choices: list[list[tuple[str, str]]] = []
    for name in sorted(rule.arguments):
        if name in ID_PARAMETERS:
            kind = ID_PARAMETERS[name]
            if kind not in ids:
                raise UnmappedParameter(
                    f"{rule.rule}: no {kind} id was made for the test to fill {name!r} with"
                )
            choices.append([(name, str(ids[kind]))])
        elif isinstance(rule._converters.get(name), AnyConverter):
            items = sorted(rule._converters[name].items)  # type: ignore[attr-defined]
            choices.append([(name, value) for value in items])
        elif name in OTHER_PARAMETERS and not is_id_parameter(rule, name):
            choices.append([(name, value) for value in OTHER_PARAMETERS[name]])
        else:
            raise UnmappedParameter(
                f"{rule.rule} ({rule.endpoint}) takes {name!r}, which tests/routes.py does not "
                "know: add it to ID_PARAMETERS (with the kind of row it names) or "
                "OTHER_PARAMETERS"
            )
    combos: list[dict[str, str]] = [{}]
    for options in choices:
        combos = [{**combo, name: value} for combo in combos for name, value in options]
    for values in combos:
        built = rule.build(values, append_unknown=False)
        assert built is not None, f"{rule.rule} cannot be built from {values}"
        yield Route(rule, built[1], values)


@dataclass(frozen=True)
class Rows:
    """One of each kind of row of a business, for filling routes, and its API credentials."""

    ids: dict[str, uuid.UUID]
    auth: dict[str, str]  # an API token's Authorization header
    statement_token: str = ""  # what opens the customer's shared statement (/s/<token>)


def seed(
    app: Flask,
    admin_url: str,
    shop: Shop,
    *,
    customer_name: str = "Ada Customer",
    product_name: str = "Rice 5 kg",
    phone: str = "",
) -> Rows:
    """A customer with a sale of a product and a payment; a second customer whose paid sale was
    voided (the payment refunded) and whose second payment was reversed; an API token, an import
    and the clerk's session: a row in every table."""
    customer = add_customer(admin_url, shop.business_id, customer_name, phone=phone)
    product = add_product(
        admin_url,
        shop.business_id,
        product_name,
        price="4.00",
        stock=50,
        barcode=f"50{uuid.uuid4().int % 10**11:011d}",  # one of its own for each seed
    )
    sale = sell(app, shop, customer, product, 3)
    payment = pay(app, shop, customer, "5.00").payment_id
    auth = api_auth(app, shop.slug)
    ((token,),) = fetch(
        admin_url,
        "SELECT id FROM api_tokens WHERE business_id = %s ORDER BY created_at DESC LIMIT 1",
        shop.business_id,
    )
    ((movement,),) = fetch(admin_url, "SELECT id FROM stock_movements WHERE order_id = %s", sale)
    other = add_customer(admin_url, shop.business_id, f"{customer_name} Jr", phone=phone)
    returned_sale = sell(app, shop, other, product, 1)
    pay(app, shop, other, "4.00")
    with tenant_session(app, shop.business_id) as session:
        returned = ledger.record_return(  # paid in full, so all of it is refunded
            session,
            order_id=returned_sale,
            reason="brought back",
            idempotency_key=uuid.uuid4(),
            user_id=shop.owner_id,
            void=True,
            refund_method="cash",
        ).return_id
        sell(app, shop, other, product, 1)
        bounced = pay(app, shop, other, "2.00").payment_id
        ledger.reverse_payment(
            session,
            payment_id=bounced,
            reason="bounced",
            idempotency_key=uuid.uuid4(),
            user_id=shop.owner_id,
        )
    signed_in(app, shop.slug, shop.clerk_email)  # a session: a row in user_sessions
    ((upload,),) = fetch(
        admin_url,
        "INSERT INTO imports (business_id, kind, row_count, idempotency_key, created_by) "
        "VALUES (%s, 'customers', 1, gen_random_uuid(), %s) RETURNING id",
        shop.business_id,
        shop.owner_id,
    )
    fetch(  # a reminder sent
        admin_url,
        "INSERT INTO reminders (business_id, customer_id, channel, message, created_by)"
        " VALUES (%s, %s, 'sms', 'Hello', %s) RETURNING id",
        shop.business_id,
        customer,
        shop.clerk_id,
    )
    fetch(  # the clerk's drawer counted
        admin_url,
        "INSERT INTO drawer_counts (business_id, day, user_id, float_amount, expected, counted,"
        " created_by, idempotency_key, request_hash) VALUES (%s, current_date, %s, 0, 5, 5, %s,"
        " gen_random_uuid(), gen_random_uuid()) RETURNING id",
        shop.business_id,
        shop.clerk_id,
        shop.clerk_id,
    )
    link = uuid.uuid4()  # a shared statement of the customer's, which its token opens
    with app.app_context():
        link_token = links.token_for(link)
    fetch(
        admin_url,
        "INSERT INTO statement_links (business_id, id, customer_id, token_hash, date_from,"
        " created_by, expires_at) VALUES (%s, %s, %s, %s, current_date - 90, %s,"
        " now() + interval '30 days') RETURNING id",
        shop.business_id,
        link,
        customer,
        links.hash_token(link_token),
        shop.clerk_id,
    )
    # A recovery code of the owner's (its second factor stays off: signing in needs no code).
    fetch(
        admin_url,
        "INSERT INTO recovery_codes (business_id, user_id, code_hash) "
        "VALUES (%s, %s, encode(sha256(gen_random_uuid()::text::bytea), 'hex')) RETURNING id",
        shop.business_id,
        shop.owner_id,
    )
    ids = {
        "customer": customer,
        "product": product,
        "sale": sale,
        "payment": payment,
        "user": shop.clerk_id,
        "token": token,
        "import": upload,
        "movement": movement,
        "return": returned,
        "statement_link": link,
    }
    return Rows(ids, auth, link_token)


@dataclass
class Form:
    """A POST form as a page renders it: where it goes and the fields it would send."""

    action: str
    fields: list[tuple[str, str]]
    files: list[str] = field(default_factory=list)  # names of its file inputs


class _FormReader(HTMLParser):
    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            post = a.get("method", "get").lower() == "post"
            self._form = Form(a.get("action") or self.page_path, []) if post else None
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind == "file":
                self._form.files.append(a["name"])
            if kind in ("submit", "button", "image", "file"):
                return
            self._form.fields.append((a["name"], a.get("value", "")))
        elif tag == "button" and a.get("name"):
            pass  # a named button is sent only when it is the one pressed
        elif tag == "select" and a.get("name"):
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form.fields.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            name, value = self._form.fields[-1]
            self._form.fields[-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = [value for value, selected in self._options if selected]
            first = [value for value, _ in self._options[:1]]
            self._form.fields.append((self._select, (chosen or first or [""])[0]))
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def read_forms(page_path: str, html: str) -> list[Form]:
    reader = _FormReader(page_path)
    reader.feed(html)
    reader.close()
    return reader.forms


def harvest_forms(
    app: Flask,
    client: FlaskClient,
    ids: Mapping[str, uuid.UUID],
    blueprint: str | None = None,
) -> dict[str, Form]:
    """The first POST form found for each endpoint, on every page the client can open (every
    GET route, of `blueprint` only when given, filled with `ids`; the sale and payment forms
    for ids' customer)."""
    adapter = app.url_map.bind("localhost")
    pages = [
        route.path
        for rule in rules(app)
        if "GET" in methods(rule)
        and not rule.endpoint.startswith("api.")
        and (blueprint is None or rule.endpoint.startswith(blueprint + "."))
        for route in fill(rule, ids)
    ]
    if blueprint in (None, "sales", "payments"):
        pages += [f"/{bp}/new?customer={ids['customer']}" for bp in ("sales", "payments")]
    found: dict[str, Form] = {}
    for page in pages:
        response = client.get(page)
        if response.mimetype != "text/html":
            continue
        for form in read_forms(page, response.get_data(as_text=True)):
            try:
                endpoint, _ = adapter.match(urlsplit(form.action).path, method="POST")
            except HTTPException:
                continue
            found.setdefault(str(endpoint), form)
    return found


# A plausible value for a form field by its name, for fields a page leaves blank.
PLAUSIBLE = {
    "amount": "1.00",
    "quantity": "1",
    "product": "",
    "name": "Changed name",
    "phone": "555 0100",
    "email": "changed@example.com",
    "notes": "a note",
    "note": "a note",
    "credit_limit": "50.00",
    "opening_balance": "0",
    "price": "2.00",
    "sku": "CHANGED-1",
    "stock": "3",
    "reason": "delivery",
    "role": "clerk",
    "method": "cash",
    "password": "another horse battery",
    "new_password": "another horse battery",
    "confirm": "another horse battery",
    "current_password": "not the password",
    "currency": "USD",
    "timezone": "UTC",
    "credit_days": "30",
    "low_stock_threshold": "5",
    "address": "1 Market Street",
}
