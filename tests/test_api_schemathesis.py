"""Schemathesis against the running app: every operation of the API's description
(webapp/api/openapi.yaml), with its examples, inputs generated from its schemas (valid and
not), and chains of calls along its links, sent with a real owner's token to a seeded shop.
No answer may be a 5xx, every status must be one the description lists for the operation, and
every body must match its schema (money included: two decimals). The ledger is checked after
the run.

The shop's customers and products have the ids the description's examples use, and the real
ids of its sales and payments are given to the generator as dictionaries, so operations with
an id reach their 2xx answers, not only 404. The shop's API allowance is raised so the run is
not cut short by 429s (which the description lists anyway). The run is bounded and seeded:
the same examples every time, inside a minute or so on a busy machine.

Each mismatch the run found is kept as a plain test of that exact request, beside the other
tests of its endpoint (tests/test_api_*.py: "found by Schemathesis")."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import schemathesis
from flask import Flask
from schemathesis.engine import Status, events
from werkzeug.serving import make_server

from tests.helpers import (
    Shop,
    api_auth,
    fetch,
    ledger_violations,
    pay,
    record_opening_stock,
    sell,
)
from webapp.embedded import DatabaseUrls

# The ids of the description's examples (components/parameters and the request examples).
CUSTOMER = uuid.UUID("0b3c9a4e-5d0e-4c1a-9f6b-2a7d8e1c4f50")
PRODUCT = uuid.UUID("7f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
MAX_EXAMPLES = 6  # per operation and phase: the run stays near a minute
SEED = 20260117


def _customer(admin: str, shop: Shop, customer_id: uuid.UUID, name: str, **extra: Any) -> None:
    with psycopg.connect(admin) as conn:
        conn.execute(
            "INSERT INTO customers (business_id, id, name, phone, credit_limit, is_archived) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (
                shop.business_id,
                customer_id,
                name,
                extra.get("phone", "0700 000 000"),
                Decimal(extra.get("credit_limit", "1000000.00")),
                extra.get("archived", False),
            ),
        )


def _product(admin: str, shop: Shop, product_id: uuid.UUID, name: str, stock: int) -> None:
    with psycopg.connect(admin) as conn:
        conn.execute(
            "INSERT INTO products (business_id, id, name, sku, barcode, price, stock) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (shop.business_id, product_id, name, name[:3].upper(), None, Decimal("9.50"), stock),
        )
        record_opening_stock(conn, shop.business_id, product_id, stock)


@pytest.fixture
def seeded(app: Flask, database: DatabaseUrls, shop: Shop) -> dict[str, list[str]]:
    """A shop with customers (one archived), products, sales and payments; its real ids."""
    admin = database.admin
    other_customer, archived, oil = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    _customer(admin, shop, CUSTOMER, "Ada Customer")
    _customer(admin, shop, other_customer, "Bo Buyer", credit_limit="50.00")
    _customer(admin, shop, archived, "Old Customer", archived=True)
    _product(admin, shop, PRODUCT, "Rice 5 kg", 1_000_000)
    _product(admin, shop, oil, "Oil 1 l", 3)
    sales = [sell(app, shop, CUSTOMER, PRODUCT, 3) for _ in range(3)]
    sales.append(sell(app, shop, other_customer, oil, 1))
    payments = [pay(app, shop, CUSTOMER, "5.00").payment_id, pay(app, shop, CUSTOMER, "2.50")]
    with psycopg.connect(admin) as conn:  # tokens of this shop may send all the run sends
        conn.execute(
            "UPDATE businesses SET api_requests_per_minute = 100000 WHERE id = %s",
            (shop.business_id,),
        )
    return {
        "customers": [str(CUSTOMER), str(other_customer), str(archived)],
        "products": [str(PRODUCT), str(oil)],
        "sales": [str(sale) for sale in sales],
        "payments": [str(payments[0]), str(payments[1].payment_id)],
    }


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The suite's app served over HTTP on a free port (Schemathesis's run sends real requests,
    as its command line does against a server)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def _config(
    token: str,
    ids: dict[str, list[str]],
    *,
    max_examples: int = MAX_EXAMPLES,
    phases: dict[str, Any] | None = None,
) -> schemathesis.Config:
    checks = {
        name: {"enabled": name in WANTED_CHECKS}
        for name in (
            *WANTED_CHECKS,
            "positive_data_acceptance",  # a valid-looking id of no record is rightly a 404
            "negative_data_rejection",  # what the app accepts leniently (a JSON number as
            # an amount) is no fault
            "use_after_free",
            "ensure_resource_availability",
            "missing_required_header",
            "unsupported_method",
        )
    }
    dictionary = 0.6  # how often a generated id is a real one
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},  # each run the same, whatever ran before
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                "mode": "all",
            },
            "checks": checks,
            "phases": phases or {"stateful": {"max-steps": 20}},
            "dictionaries": {kind: {"values": values} for kind, values in ids.items()},
            "parameters": {
                "path.sale_id": {"dictionary": "sales", "probability": dictionary},
                "path.payment_id": {"dictionary": "payments", "probability": dictionary},
                "path.customer_id": {"dictionary": "customers", "probability": dictionary},
                "path.product_id": {"dictionary": "products", "probability": dictionary},
                "body.customer_id": {"dictionary": "customers", "probability": dictionary},
                "body.order_id": {"dictionary": "sales", "probability": dictionary},
                "body.items[*].product_id": {"dictionary": "products", "probability": dictionary},
            },
        }
    )


WANTED_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "ignored_auth",
)


def _failures(schema: Any) -> tuple[list[str], dict[str, set[int]], Counter[str]]:
    """Every failed check (title, message, the request as curl), each operation's statuses, and
    how many answers each check judged."""
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    checked = Counter[str]()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.FatalError | events.NonFatalError):
            failures.append(f"error: {event!r}")
        if not isinstance(event, events.ScenarioFinished):
            continue
        recorder = event.recorder
        for case_id, interaction in recorder.interactions.items():
            label = recorder.cases[case_id].value.operation.label
            if interaction.response is not None:
                statuses.setdefault(label, set()).add(interaction.response.status_code)
        for checks in recorder.checks.values():
            checked.update(check.name for check in checks)
        if event.status not in (Status.FAILURE, Status.ERROR):
            continue
        for checks in recorder.checks.values():
            for check in checks:
                if check.failure_info is not None:
                    failure = check.failure_info.failure
                    failures.append(
                        f"{check.name}: {failure.title}\n{failure.message}\n"
                        f"{check.failure_info.code_sample}"
                    )
    return sorted(set(failures)), statuses, checked


# Hypothesis warns when a generated value it would print is large; a warning is not a finding.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
def test_the_api_answers_as_its_description_says(
    app: Flask, database: DatabaseUrls, shop: Shop, seeded: dict[str, list[str]], served: str
) -> None:
    token = api_auth(app, shop.slug)["Authorization"].removeprefix("Bearer ")
    schema = schemathesis.openapi.from_url(
        f"{served}/api/openapi.json", config=_config(token, seeded)
    )
    failures, statuses, checked = _failures(schema)

    assert failures == [], "\n\n".join(failures)
    assert min(checked[name] for name in WANTED_CHECKS) > 500  # every check judged the answers
    # Every operation was sent requests (but the description's own, which Schemathesis does
    # not call: test_openapi.py checks it is served).
    described = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if path != "/api/openapi.json"
    }
    assert set(statuses) == described
    # ...and each one with an id reached its record, not only 404.
    reached = {label for label, seen in statuses.items() if seen & {200, 201}}
    assert reached == described, described - reached
    assert ledger_violations(database.admin) == []
    assert fetch(database.admin, "SELECT count(*) FROM orders")[0][0] > len(seeded["sales"])


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
def test_a_token_whose_maker_is_now_a_clerk_is_refused_as_described(
    app: Flask, database: DatabaseUrls, shop: Shop, seeded: dict[str, list[str]], served: str
) -> None:
    """The writes again, with an owner's token whose maker has since been made a clerk: what
    only owners may do answers the 403 the description gives (a shorter run: the answers
    themselves were judged above)."""
    token = api_auth(app, shop.slug)["Authorization"].removeprefix("Bearer ")
    fetch(
        database.admin, "UPDATE users SET role = 'clerk' WHERE id = %s RETURNING id", shop.owner_id
    )
    only_writes = {"coverage": {"enabled": False}, "stateful": {"enabled": False}}
    config = _config(token, seeded, max_examples=4, phases=only_writes)
    schema = schemathesis.openapi.from_url(f"{served}/api/openapi.json", config=config)
    failures, statuses, _ = _failures(schema.include(method="POST"))

    assert failures == [], "\n\n".join(failures)
    refused = {label for label, seen in statuses.items() if 403 in seen}
    assert {
        "POST /api/products",
        "POST /api/customers",
        "POST /api/payments/{payment_id}/reversal",
        "POST /api/sales/{sale_id}/void",
    } <= refused, statuses
    assert ledger_violations(database.admin) == []
