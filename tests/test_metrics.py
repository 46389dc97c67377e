"""/metrics: Prometheus text for the bearer token in SHOPCREDIT_METRICS_TOKEN only; request
latency per endpoint, ledger outcomes, connections in use, failed sign-ins. (Several gunicorn
workers adding up their values: tests/test_gunicorn.py.)"""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import Shop, add_customer, add_product, api_auth, login
from webapp.config import ConfigError, from_environ
from webapp.embedded import DatabaseUrls

TOKEN = "m" * 40


@pytest.fixture
def metrics_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return app


def scrape(client: FlaskClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_without_a_token_configured_there_is_no_such_page(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", "Bearer é"],
)
def test_a_wrong_token_gets_nothing(metrics_on: Flask, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = metrics_on.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "shopcredit_" not in response.get_data(as_text=True)


def test_a_short_token_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="at least 32 characters"):
        from_environ({"SHOPCREDIT_METRICS_TOKEN": "secret"})
    assert from_environ({"SHOPCREDIT_METRICS_TOKEN": TOKEN})["METRICS_TOKEN"] == TOKEN


def test_latency_is_per_endpoint_never_per_path(
    metrics_on: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    before = scrape(owner_client)
    for _ in range(3):
        assert owner_client.get(f"/customers/{customer}").status_code == 200
    assert owner_client.get(f"/customers/{uuid.uuid4()}").status_code == 404
    assert owner_client.get("/no/such/page").status_code == 404
    after = scrape(owner_client)
    endpoint = {"endpoint": "customers.detail", "method": "GET"}
    count = "shopcredit_http_request_duration_seconds_count"
    assert value(after, count, **endpoint) - value(before, count, **endpoint) == 4
    requests = "shopcredit_http_requests_total"
    assert (
        value(after, requests, **endpoint, status="200")
        - value(before, requests, **endpoint, status="200")
        == 3
    )
    assert (
        value(after, requests, **endpoint, status="404")
        - value(before, requests, **endpoint, status="404")
        == 1
    )
    assert value(after, requests, endpoint="none", method="GET", status="404") >= 1
    text = owner_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(
        as_text=True
    )
    assert str(customer) not in text and "/no/such/page" not in text


def test_ledger_outcomes_are_counted_by_kind(
    metrics_on: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    client = metrics_on.test_client()
    auth = api_auth(metrics_on, shop.slug)
    customer = add_customer(database.admin, shop.business_id, credit_limit="25.00")
    product = add_product(database.admin, shop.business_id, price="10.00", stock=5)
    before = scrape(client)
    key = str(uuid.uuid4())
    sale = {
        "customer_id": str(customer),
        "items": [{"product_id": str(product), "quantity": 2}],
        "idempotency_key": key,
    }
    assert client.post("/api/purchase", json=sale, headers=auth).status_code == 201
    assert client.post("/api/purchase", json=sale, headers=auth).status_code == 200  # replayed
    too_much = {**sale, "idempotency_key": str(uuid.uuid4())}
    assert client.post("/api/purchase", json=too_much, headers=auth).status_code == 409  # limit
    payment = {"customer_id": str(customer), "amount": "50.00"}
    assert client.post("/api/payments", json=payment, headers=auth).status_code == 409
    payment["amount"] = "5.00"
    assert client.post("/api/payments", json=payment, headers=auth).status_code == 201
    after = scrape(client)

    def delta(function: str, outcome: str, reason: str = "") -> float:
        labels = {"function": function, "outcome": outcome, "reason": reason}
        return value(after, "shopcredit_ledger_calls_total", **labels) - value(
            before, "shopcredit_ledger_calls_total", **labels
        )

    assert delta("process_purchase", "recorded") == 1
    assert delta("process_purchase", "replayed") == 1
    assert delta("process_purchase", "refused", "credit_limit_exceeded") == 1
    assert delta("record_payment", "refused", "payment_exceeds_balance") == 1
    assert delta("record_payment", "recorded") == 1


def test_failed_sign_ins_and_connections_in_use(
    metrics_on: Flask, client: FlaskClient, shop: Shop
) -> None:
    before = scrape(client)
    for _ in range(2):
        assert login(client, shop.slug, shop.owner_email, "wrong").status_code == 400
    after = scrape(client)
    failures = "shopcredit_sign_in_failures_total"
    assert (
        value(after, failures, reason="password") - value(before, failures, reason="password") == 2
    )

    in_use = "shopcredit_db_pool_connections_in_use"
    idle = value(after, in_use, pool="app")
    with metrics_on.extensions["shopcredit.db"].engine.connect():
        assert value(scrape(client), in_use, pool="app") == idle + 1
    assert value(scrape(client), in_use, pool="app") == idle
