"""ShopCredit under a real gunicorn, started as the README says (`gunicorn -c gunicorn.conf.py
wsgi:app`): its output is JSON lines (the app's and gunicorn's own, access log included), the
metrics of several workers add up, and a deploy drains (/readyz 503 on the drain file) and then
stops with SIGTERM while a sale is in flight, which still finishes."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import Shop, add_customer, add_product, api_auth, fetch, ledger_violations
from webapp.embedded import DatabaseUrls

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "t" * 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Gunicorn:
    process: subprocess.Popen[str]
    port: int
    metrics_folder: Path
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            payload = None if body is None else json.dumps(body)
            sent = dict(headers or {})
            if payload is not None:
                sent["Content-Type"] = "application/json"
            conn.request(method, path, body=payload, headers=sent)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            conn.close()

    def logged(self) -> list[dict[str, Any]]:
        """Every line written so far; each must be one JSON object."""
        return [json.loads(line) for line in list(self.lines)]

    def wait_for_lines(
        self, enough: Callable[[list[dict[str, Any]]], bool]
    ) -> list[dict[str, Any]]:
        """The lines once `enough` says so: gunicorn writes the access line after answering,
        and the reader thread takes its time on a busy machine."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            lines = self.logged()  # raises unless every line, gunicorn's own too, is JSON
            if enough(lines):
                return lines
            time.sleep(0.1)
        raise AssertionError("\n".join(self.lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        if self.reader is not None:
            self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_gunicorn(database: DatabaseUrls, folder: Path, **settings: str) -> Gunicorn:
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SHOPCREDIT_", "PROMETHEUS_", "GUNICORN_"))
        and key not in ("DATABASE_URL", "DATABASE_ADMIN_URL", "SECRET_KEY", "WEB_CONCURRENCY")
    }
    env.update(
        DATABASE_URL=database.app,
        DATABASE_ADMIN_URL=database.admin,
        SECRET_KEY="gunicorn-test-secret",
        SHOPCREDIT_PASSWORD_HASH_PROFILE="CHEAPEST",
        SHOPCREDIT_TRUSTED_PROXIES="1",
        SHOPCREDIT_METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"),
        **settings,
    )
    process = subprocess.Popen(  # noqa: S603 (our own command line)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--access-logfile",
            "-",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Gunicorn(process, port, folder / "metrics")

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.lines.append(line.rstrip("\n"))

    server.reader = threading.Thread(target=read, daemon=True)
    server.reader.start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("gunicorn exited:\n" + "\n".join(server.lines))
        try:
            if server.request("GET", "/healthz")[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise AssertionError("gunicorn did not answer:\n" + "\n".join(server.lines))


@pytest.fixture(scope="module")
def served(database: DatabaseUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    server = start_gunicorn(database, tmp_path_factory.mktemp("gunicorn"))
    yield server
    server.stop()


def scrape(server: Gunicorn) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, _, text = server.request(
        "GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_every_line_is_json_and_each_request_has_its_line(served: Gunicorn) -> None:
    ids = [f"probe-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    for request_id in ids:
        status, headers, _ = served.request(
            "GET", "/login?next=/customers%3Fq%3DSecret", headers={"X-Request-ID": request_id}
        )
        assert status == 200 and headers["X-Request-ID"] == request_id
    lines = served.wait_for_lines(
        lambda lines: all(
            sum(line.get("request_id") == request_id for line in lines) == 2 for request_id in ids
        )
    )
    assert any(line.get("logger") == "gunicorn.error" for line in lines)  # "Booting worker"
    # gunicorn.conf.py told the app how many workers share its memory:// rate limits.
    assert any("2 workers serve ShopCredit" in line.get("message", "") for line in lines)
    for request_id in ids:
        (app_line,) = [
            x for x in lines if x["event"] == "request" and x["request_id"] == request_id
        ]
        (access,) = [x for x in lines if x["event"] == "access" and x["request_id"] == request_id]
        for line in (app_line, access):
            assert (line["method"], line["path"], line["status"]) == ("GET", "/login", 200)
            assert line["business_id"] is None and line["user_id"] is None
            assert isinstance(line["duration_ms"], float)
            assert line["ts"].endswith("Z") and line["level"] == "info"
    assert not any("Secret" in line for line in served.lines)  # no query string anywhere


def test_the_workers_metrics_add_up(served: Gunicorn) -> None:
    labels = frozenset({"endpoint": "auth.login", "method": "GET", "status": "200"}.items())
    before = scrape(served).get(("shopcredit_http_requests_total", labels), 0.0)
    for _ in range(12):
        assert served.request("GET", "/login")[0] == 200
    after = scrape(served)
    # Whichever worker answered the scrape, it counts every worker's requests.
    assert after[("shopcredit_http_requests_total", labels)] - before == 12
    in_use = ("shopcredit_db_pool_connections_in_use", frozenset({"pool": "app"}.items()))
    assert after[in_use] == 0  # every worker's connections back in its pool
    # prometheus_client's multiprocess mode: each worker process writes its own files.
    assert list(served.metrics_folder.glob("counter_*.db"))


def test_a_deploy_drains_then_sigterm_lets_a_sale_in_flight_finish(
    app: Flask, database: DatabaseUrls, database_server: str, shop: Shop, tmp_path: Path
) -> None:
    auth = api_auth(app, shop.slug)
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id, price="4.00", stock=10)
    drain = tmp_path / "drain"
    server = start_gunicorn(database, tmp_path, SHOPCREDIT_DRAIN_FILE=str(drain))
    try:
        assert server.request("GET", "/readyz")[0] == 200
        drain.touch()  # step 1 of a deploy: the load balancer takes this server out
        status, _, body = server.request("GET", "/readyz")
        assert (status, json.loads(body)["checks"]["drain"]) == (503, "draining")
        assert server.request("GET", "/healthz")[0] == 200

        sale = {
            "customer_id": str(customer),
            "items": [{"product_id": str(product), "quantity": 3}],
            "idempotency_key": str(uuid.uuid4()),
        }
        answers: list[tuple[int, dict[str, str], str]] = []
        with psycopg.connect(database.admin) as holder:
            # Another till holds the customer: the sale waits for it (at most 5 s).
            holder.execute("SELECT 1 FROM customers WHERE id = %s FOR UPDATE", (customer,))
            selling = threading.Thread(
                target=lambda: answers.append(server.request("POST", "/api/purchase", sale, auth))
            )
            selling.start()
            _wait_for_a_lock_wait(database_server, database.admin)
            server.process.send_signal(signal.SIGTERM)  # step 2: stop
            time.sleep(1)
            assert server.process.poll() is None  # still running: the sale is in flight
            holder.rollback()  # the other till lets go
            selling.join(timeout=30)
        assert answers and answers[0][0] == 201, answers
        assert server.process.wait(timeout=60) == 0
    finally:
        server.stop()
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(1,)]
    assert ledger_violations(database.admin) == []
    finished = [
        line
        for line in server.logged()
        if line["event"] == "request" and line["path"] == "/api/purchase"
    ]
    assert [line["status"] for line in finished] == [201]


def _wait_for_a_lock_wait(superuser_url: str, admin_url: str) -> None:
    """Until the sale's connection waits for a lock (only a superuser sees another role's
    wait)."""
    name = psycopg.conninfo.conninfo_to_dict(admin_url)["dbname"]
    deadline = time.monotonic() + 3  # well inside the sale's 5 s lock_timeout
    while time.monotonic() < deadline:
        waiting = fetch(
            superuser_url,
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'shopcredit' AND wait_event_type = 'Lock'",
            name,
        )
        if waiting == [(1,)]:
            return
        time.sleep(0.05)
    raise AssertionError("the sale never waited for the customer's lock")
