"""Load through the whole web stack: clerks recording sales through gunicorn, in one run.

    .venv/bin/python bench/http_load.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                        [--embedded] [--seconds 20] [--clerks 8,32]
                                        [--workers 2] [--threads 8] [--no-receipt]
                                        [--memory-requests 10000]

The server URL must be a superuser's (or --embedded: a throwaway embedded PostgreSQL in a
temporary folder); pgbench must be on the PATH. The run makes the database
shopcredit_bench_http and the ShopCredit roles, loads one shop (clerks with a real password,
customers with high credit limits, products with large stock), starts the app as production does
(`gunicorn wsgi:app`, gthread workers, the app role, a secret key) on 127.0.0.1, signs every
clerk in through the sign-in form, and then:

1. warms up (every clerk, so every worker thread and pooled connection has served);
2. measures process_purchase at the database level at 8 connections, as bench/purchase.py does
   (pgbench, the same 2-item sales on the same customers and products), with gunicorn idle;
3. for each clerk count: that many clerks, each with its own session, load the sale form
   (`GET /sales/new?customer=…`), take the CSRF token and idempotency key from the page and post
   a 2-item sale; the 303 to the receipt is followed as a browser does (--no-receipt: not).
   Reports sales/s, p50/p95/p99 of each request and of the whole cycle, every non-success, and
   the CPU time of the app, the database, the load client and everything else on the machine;
4. tops up to 10,000 requests after the warm-up and reports each worker's RSS along the way;
5. checks that every acknowledged sale is in the database exactly once under its key, that no
   sale was recorded without being acknowledged, and that check-ledger is clean.

Each measurement starts after VACUUM ANALYZE and a CHECKPOINT. Gunicorn is stopped and the
database dropped at the end, also when something fails (or on Ctrl-C / SIGTERM). The exit
status is 0 only when every target is met.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import html
import http.client
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

import psutil
import psycopg
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import purchase
from webapp import embedded, migrate
from webapp.db import sqlalchemy_url
from webapp.ledger_check import find_violations
from webapp.passwords import make_hasher

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "shopcredit_bench_http"
SLUG = "bench-http"
PASSWORD = "bench-clerk-password"  # noqa: S105 (the bench's own throwaway clerks)
# Production's argon2 parameters: signing in costs what it costs in a shop.
PASSWORD_PROFILE = "RFC_9106_LOW_MEMORY"  # noqa: S105
CUSTOMERS_PER_CLERK = 50
# The sale form offers every product in each of its five rows, so the catalog's size is part of
# what a form costs: 6 per clerk makes a catalog of 192 products.
PRODUCTS_PER_CLERK = 6
SHOP_CLERKS = 32  # clerks (and so customers and products) the shop has, at least
OTHER_CUSTOMERS = 5_000  # the rest of a real shop's customer list
FORM_ROWS = 5  # rows a sale form has without JavaScript (webapp.sales.forms.EMPTY_ROWS)
DB_CONNECTIONS = 8
WARMUP_REQUESTS = 1_000
MEMORY_REQUESTS = 10_000
REQUEST_TIMEOUT = 30.0
AUTOVACUUM = "autovacuum worker"
SIGN_IN_AT_ONCE = 2
TARGET_P99_MS = 100.0
TARGET_RATIO = 0.30

HIDDEN_INPUT = re.compile(r"<input\b[^>]*>")
RECEIPT_PATH = re.compile(r"^(?:https?://[^/]+)?/sales/([0-9a-f-]{36})$")


class BenchError(RuntimeError):
    """The run cannot go on (the app did not start, a clerk could not sign in, ...)."""


# --- the shop -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Clerk:
    id: uuid.UUID
    email: str
    customers: list[uuid.UUID]
    products: list[uuid.UUID]


@dataclass(frozen=True)
class Shop:
    business_id: uuid.UUID
    clerks: list[Clerk]
    db_user: uuid.UUID  # the pgbench sales' user, so the web's sales can be told apart


def seed(admin_url: str, clerk_count: int) -> Shop:
    """One shop: clerks with a real (production-cost) password, their own customers and
    products; numbered lookup tables for the pgbench script of bench/purchase.py."""
    password_hash = make_hasher(PASSWORD_PROFILE).hash(PASSWORD)
    with psycopg.connect(admin_url) as conn:
        business = conn.execute(
            "INSERT INTO businesses (slug, name) VALUES (%s, 'Bench Hardware') RETURNING id",
            (SLUG,),
        ).fetchone()[0]
        users = conn.execute(
            "INSERT INTO users (business_id, email, name, password_hash, role)"
            " SELECT %s, 'clerk' || g || '@bench.test', 'Clerk ' || g, %s, 'clerk'"
            "   FROM generate_series(0, %s) g ORDER BY g RETURNING id, email",
            (business, password_hash, clerk_count),
        ).fetchall()
        customers = [
            row[0]
            for row in conn.execute(
                "INSERT INTO customers (business_id, name, phone, credit_limit)"
                " SELECT %s, 'Customer ' || lpad(g::text, 5, '0'), '+2547' || lpad(g::text, 8,"
                " '0'), 9999999999 FROM generate_series(1, %s) g ORDER BY g RETURNING id",
                (business, clerk_count * CUSTOMERS_PER_CLERK),
            ).fetchall()
        ]
        products = [
            row[0]
            for row in conn.execute(
                "INSERT INTO products (business_id, name, sku, price, stock)"
                " SELECT %s, 'Product ' || lpad(g::text, 4, '0'), 'SKU-' || g,"
                " 1.25 + (g %% 7), 2000000000 FROM generate_series(1, %s) g ORDER BY g"
                " RETURNING id",
                (business, clerk_count * PRODUCTS_PER_CLERK),
            ).fetchall()
        ]
        # The opening stock, as the pages write it, so that check-ledger's stock history adds up.
        conn.execute(
            "INSERT INTO stock_movements (business_id, product_id, change, reason,"
            " resulting_stock, created_by)"
            " SELECT business_id, id, stock, 'opening', stock, %s FROM products"
            "  WHERE business_id = %s",
            (users[-1][0], business),
        )
        conn.execute(
            "INSERT INTO customers (business_id, name, credit_limit)"
            " SELECT %s, 'Other customer ' || g, 100 FROM generate_series(1, %s) g",
            (business, OTHER_CUSTOMERS),
        )
        for table, ids in (("bench_customers", customers), ("bench_products", products)):
            conn.execute(f"CREATE TABLE {table} (n integer PRIMARY KEY, id uuid NOT NULL)")
            with conn.cursor().copy(f"COPY {table} (n, id) FROM STDIN") as copy:
                for n, row_id in enumerate(ids):
                    copy.write_row((n, row_id))
            conn.execute(f"GRANT SELECT ON {table} TO shopcredit_app")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    clerks = [
        Clerk(
            id=user_id,
            email=email,
            customers=customers[i * CUSTOMERS_PER_CLERK : (i + 1) * CUSTOMERS_PER_CLERK],
            products=products[i * PRODUCTS_PER_CLERK : (i + 1) * PRODUCTS_PER_CLERK],
        )
        for i, (user_id, email) in enumerate(users[:clerk_count])
    ]
    return Shop(business_id=business, clerks=clerks, db_user=users[-1][0])


# --- the app under gunicorn ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def workers(self) -> list[psutil.Process]:
        return sorted(psutil.Process(self.process.pid).children(), key=lambda p: p.pid)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: workers finish and exit
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gunicorn(urls: embedded.DatabaseUrls, workers: int, threads: int, log: Path) -> Gunicorn:
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SHOPCREDIT_", "DATABASE_")) and name != "SECRET_KEY"
    }
    env.update(
        DATABASE_URL=urls.app,
        DATABASE_ADMIN_URL=urls.admin,
        SECRET_KEY=secrets.token_urlsafe(48),
        SHOPCREDIT_COOKIE_SECURE="false",  # plain http on the loopback
    )
    command = [sys.executable, "-m", "gunicorn", "wsgi:app", "--chdir", str(ROOT)]
    command += ["--bind", f"127.0.0.1:{port}", "--worker-class", "gthread"]
    command += ["--workers", str(workers), "--threads", str(threads), "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    server = Gunicorn(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited at start:\n{server.log_tail()}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200 and len(server.workers()) == workers:
                conn.close()
                return server
            conn.close()
        time.sleep(0.2)
    server.stop()
    raise BenchError(f"gunicorn did not answer /healthz within 60 s:\n{server.log_tail()}")


# --- a clerk's browser --------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    location: str
    body: str


class Browser:
    """One clerk's keep-alive connection and cookies (http.client from the standard library)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        self.cookies: dict[str, str] = {}
        self.requests = 0
        self.retries = 0  # requests sent again after a kept-alive connection was closed

    def close(self) -> None:
        self.conn.close()

    def send(self, method: str, path: str, form: list[tuple[str, str]] | None = None) -> Answer:
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.requests += 1
        for attempt in (1, 2):
            reused = self.conn.sock is not None
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                break
            except (ConnectionResetError, BrokenPipeError):
                self.conn.close()
                # A kept-alive connection the server closed as the request went out, before
                # answering anything: a browser sends it again on a new connection (RFC 9112
                # 9.3.1), a sale too, which its idempotency key makes safe. Counted, not hidden.
                if not reused or attempt == 2:
                    raise
                self.retries += 1
            except Exception:
                self.conn.close()  # the next request opens a fresh connection
                raise
        try:
            text = response.read().decode("utf-8", errors="replace")
        except Exception:
            self.conn.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return Answer(response.status, response.getheader("Location") or "", text)


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a page, by name (the CSRF token, the idempotency key, ...)."""
    fields = {}
    for tag in HIDDEN_INPUT.findall(page):
        if 'type="hidden"' in tag:
            name = re.search(r'\bname="([^"]*)"', tag)
            value = re.search(r'\bvalue="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return fields


def sign_in(browser: Browser, email: str) -> None:
    page = browser.send("GET", "/login")
    token = hidden_fields(page.body).get("csrf_token")
    if page.status != 200 or not token:
        raise BenchError(f"the sign-in form answered {page.status} without a CSRF token")
    answer = browser.send(
        "POST",
        "/login",
        [("csrf_token", token), ("business", SLUG), ("email", email), ("password", PASSWORD)],
    )
    if answer.status not in (302, 303) or "/login" in answer.location:
        raise BenchError(f"{email} could not sign in: {answer.status} {answer.location!r}")


# --- a measured phase ---------------------------------------------------------------------


@dataclass
class Tally:
    """What the clerks of one phase did. Lists are appended to from many threads (atomic)."""

    form_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    receipt_ms: list[float] = field(default_factory=list)
    cycle_ms: list[float] = field(default_factory=list)
    form_bytes: list[int] = field(default_factory=list)
    sales_in_time: int = 0  # acknowledged before the phase's end
    acknowledged: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # key -> order id
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0  # sent again on a new connection (see Browser.send)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def one_sale(
    browser: Browser, clerk: Clerk, rng: random.Random, receipt: bool, tally: Tally
) -> bool:
    """Load the form, post a 2-item sale, follow the receipt. True when acknowledged."""
    customer = rng.choice(clerk.customers)
    first = rng.randrange(0, PRODUCTS_PER_CLERK // 2) * 2  # as the pgbench script picks them
    products = [str(clerk.products[first]), str(clerk.products[first + 1])]
    started = time.perf_counter()
    form = browser.send("GET", f"/sales/new?customer={customer}")
    loaded = time.perf_counter()
    fields = hidden_fields(form.body)
    if form.status != 200 or "csrf_token" not in fields or "idempotency_key" not in fields:
        tally.errors.append(f"sale form: {form.status}")
        return False
    tally.form_bytes.append(len(form.body))
    tally.form_ms.append((loaded - started) * 1000)
    key = uuid.UUID(fields["idempotency_key"])
    data = [
        ("csrf_token", fields["csrf_token"]),
        ("customer_id", fields.get("customer_id", str(customer))),
        ("idempotency_key", str(key)),
    ]
    for row in range(FORM_ROWS):
        data.append(("product", products[row] if row < len(products) else ""))
        data.append(("quantity", str(row + 1) if row < len(products) else "1"))
    data.append(("record", "1"))
    posted = time.perf_counter()
    answer = browser.send("POST", "/sales/new", data)
    done = time.perf_counter()
    found = RECEIPT_PATH.match(answer.location)
    if answer.status not in (302, 303) or not found:
        tally.errors.append(f"sale post: {answer.status} {answer.location!r}")
        return False
    with tally.lock:
        tally.acknowledged[key] = uuid.UUID(found.group(1))
    tally.post_ms.append((done - posted) * 1000)
    if receipt:
        page = browser.send("GET", answer.location)
        tally.receipt_ms.append((time.perf_counter() - done) * 1000)
        done = time.perf_counter()
        if page.status != 200:
            tally.errors.append(f"receipt: {page.status}")
            return True  # the sale is recorded and acknowledged; the error is counted
    tally.cycle_ms.append((done - started) * 1000)
    return True


def sign_in_all(port: int, clerks: list[Clerk]) -> list[Browser]:
    """A signed-in browser per clerk, a few at a time (a shop's clerks do not all sign in at
    the same instant, and a sign-in is a deliberately slow password check)."""
    browsers = [Browser(port) for _ in clerks]
    with ThreadPoolExecutor(max_workers=SIGN_IN_AT_ONCE) as pool:
        list(pool.map(sign_in, browsers, [clerk.email for clerk in clerks]))
    for browser in browsers:
        browser.close()  # the first sale opens a new connection
    return browsers


def run_clerks(
    browsers: list[Browser],
    clerks: list[Clerk],
    *,
    seconds: float | None = None,
    requests: int | None = None,
    receipt: bool = True,
) -> Tally:
    """Signed-in clerks sell until `seconds` pass or `requests` have been sent."""
    tally = Tally()
    start_at: list[float] = []
    # The clock starts when every clerk is ready (the action runs before anyone goes on).
    ready = threading.Barrier(len(clerks) + 1, action=lambda: start_at.append(time.perf_counter()))
    sent = [0] * len(clerks)
    for browser in browsers:
        browser.requests = browser.retries = 0

    def clerk_loop(index: int) -> None:
        browser, clerk = browsers[index], clerks[index]
        rng = random.Random(index)  # repeatable choices of customers and products
        ready.wait()
        while True:
            now = time.perf_counter()
            if seconds is not None and now >= start_at[0] + seconds:
                break
            if requests is not None and sum(sent) >= requests:
                break
            try:
                ok = one_sale(browser, clerk, rng, receipt, tally)
            except Exception as error:
                tally.errors.append(f"{type(error).__name__}: {error}")
                ok = False
            sent[index] = browser.requests
            if ok and (seconds is None or time.perf_counter() <= start_at[0] + seconds):
                with tally.lock:
                    tally.sales_in_time += 1
        browser.close()  # the next phase starts on new connections

    threads = [
        threading.Thread(target=clerk_loop, args=(i,), daemon=True) for i in range(len(clerks))
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join()
    tally.seconds = seconds if seconds is not None else time.perf_counter() - start_at[0]
    tally.requests = sum(sent)
    tally.retries = sum(browser.retries for browser in browsers)
    return tally


# --- CPU and memory -----------------------------------------------------------------------


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


@dataclass
class CpuUse:
    """CPU seconds spent during one measurement, by whom."""

    app: float  # gunicorn workers
    database: float  # PostgreSQL backends connected to the bench database
    autovacuum: float  # PostgreSQL's autovacuum workers in the bench database
    client: float  # this process (the clerks' threads) and pgbench
    machine_busy: float  # every process on the machine (all cores), steal excluded
    steal: float
    wall: float

    @property
    def others(self) -> float:
        """Everything else on the machine: other people's work on a shared machine."""
        ours = self.app + self.database + self.autovacuum + self.client
        return max(self.machine_busy - ours, 0.0)


class BackendSampler(threading.Thread):
    """Follows the CPU time of the bench database's backends, which may come and go (pgbench's
    do): every 0.2 s, the last reading of each is kept; one that exits loses at most that."""

    def __init__(self, admin_url: str) -> None:
        super().__init__(daemon=True)
        self.conn = psycopg.connect(admin_url, autocommit=True)
        self.processes: dict[int, psutil.Process] = {}
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.kinds: dict[int, str] = {}
        self.done = threading.Event()
        self.sample(at_start=True)

    def sample(self, *, at_start: bool = False) -> None:
        rows = self.conn.execute(
            "SELECT pid, backend_type FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
        for pid, kind in rows:
            if pid not in self.processes:
                with contextlib.suppress(psutil.Error):
                    self.processes[pid] = psutil.Process(pid)
                    self.kinds[pid] = kind
                    # A backend that connects during the measurement is counted whole.
                    self.first[pid] = _cpu(self.processes[pid]) if at_start else 0.0
        for pid, process in self.processes.items():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue  # gone: its last reading stands
            self.last[pid] = times.user + times.system

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.sample()

    def stop(self) -> tuple[float, float]:
        """CPU seconds of (client backends, autovacuum workers) since the start."""
        self.done.set()
        self.join()
        self.sample()
        self.conn.close()
        used = {pid: self.last.get(pid, first) - first for pid, first in self.first.items()}
        autovacuum = sum(cpu for pid, cpu in used.items() if self.kinds[pid] == AUTOVACUUM)
        return sum(used.values()) - autovacuum, autovacuum


def _busy(times: Any) -> tuple[float, float, float]:
    """(total, idle, steal) seconds of the machine; guest time is already in user time."""
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    return total, times.idle + getattr(times, "iowait", 0.0), getattr(times, "steal", 0.0)


@contextlib.contextmanager
def measure_cpu(server: Gunicorn, admin_url: str) -> Iterator[list[CpuUse]]:
    """CPU used during the block, by the app, the database, the load client and the rest."""
    result: list[CpuUse] = []
    workers = server.workers()
    sampler = BackendSampler(admin_url)
    before_app = sum(_cpu(p) for p in workers)
    me = psutil.Process()
    before_client, before_children = _cpu(me), os.times()
    before_machine = _busy(psutil.cpu_times())
    started = time.perf_counter()
    sampler.start()
    yield result
    wall = time.perf_counter() - started
    total, idle, steal = (
        a - b for a, b in zip(_busy(psutil.cpu_times()), before_machine, strict=True)
    )
    database, autovacuum = sampler.stop()
    children = os.times()  # pgbench, once it has been waited for
    waited = (children.children_user + children.children_system) - (
        before_children.children_user + before_children.children_system
    )
    result.append(
        CpuUse(
            app=sum(_cpu(p) for p in workers) - before_app,
            database=database,
            autovacuum=autovacuum,
            client=_cpu(me) - before_client + waited,
            machine_busy=total - idle - steal,
            steal=steal,
            wall=wall,
        )
    )


def rss_mib(server: Gunicorn) -> dict[int, float]:
    return {p.pid: p.memory_info().rss / 2**20 for p in server.workers()}


# --- the run ------------------------------------------------------------------------------


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def settle(admin_url: str, server_url: str) -> None:
    """Vacuum what the last measurement wrote and checkpoint, so that no measurement pays for
    the one before (autovacuum of pgbench's sales would otherwise land in the web's figures)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    purchase.checkpoint(server_url)


def check_sales(admin_url: str, shop: Shop, acknowledged: dict[uuid.UUID, uuid.UUID]) -> dict:
    """Every acknowledged sale exactly once under its key; none recorded unacknowledged."""
    keys = list(acknowledged)
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT idempotency_key, id FROM orders WHERE business_id = %s"
            " AND idempotency_key = ANY(%s)",
            (shop.business_id, keys),
        ).fetchall()
        web_orders = conn.execute(
            "SELECT count(*) FROM orders WHERE business_id = %s AND created_by <> %s",
            (shop.business_id, shop.db_user),
        ).fetchone()[0]
    found = dict(rows)
    engine = create_engine(sqlalchemy_url(admin_url), poolclass=NullPool)
    with engine.connect() as conn:
        violations = [str(v) for v in find_violations(conn)]
    engine.dispose()
    return {
        "acknowledged": len(keys),
        "found": sum(1 for key in keys if found.get(key) == acknowledged[key]),
        "lost": sum(1 for key in keys if key not in found),
        "wrong_receipt": sum(1 for key in keys if key in found and found[key] != acknowledged[key]),
        "web_orders": web_orders,
        "violations": violations,
    }


def describe_errors(errors: list[str]) -> str:
    if not errors:
        return "0"
    kinds: dict[str, int] = {}
    for error in errors:
        kinds[error] = kinds.get(error, 0) + 1
    listed = "; ".join(f"{count}× {kind}" for kind, count in sorted(kinds.items())[:5])
    return f"{len(errors)} ({listed})"


def run(args: argparse.Namespace, server_url: str, version: str) -> bool:
    clerk_counts = args.clerks
    most = max(clerk_counts)
    purchase.recreate_database(server_url, DATABASE)
    urls = embedded.create_roles_and_database(server_url, DATABASE)
    server: Gunicorn | None = None
    log = Path(tempfile.mkstemp(prefix="shopcredit-gunicorn-", suffix=".log")[1])
    try:
        migrate.upgrade(urls.admin)
        # The same shop whatever clerk counts are asked for (the catalog is part of the cost).
        shop = seed(urls.admin, max(most, SHOP_CLERKS))
        server = start_gunicorn(urls, args.workers, args.threads, log)
        acknowledged: dict[uuid.UUID, uuid.UUID] = {}
        errors: list[str] = []
        print(
            f"PostgreSQL {version}; gunicorn gthread, {args.workers} workers × {args.threads}"
            f" threads; {os.cpu_count()} CPUs; {args.seconds:g} s per measurement;"
            f" receipts {'followed' if args.receipt else 'not followed'};"
            f" catalog {len(shop.clerks) * PRODUCTS_PER_CLERK} products,"
            f" {len(shop.clerks) * CUSTOMERS_PER_CLERK + OTHER_CUSTOMERS:,} customers\n"
        )

        clerks_of = shop.clerks[:most]
        browsers = sign_in_all(server.port, clerks_of)
        warm = run_clerks(browsers, clerks_of, requests=WARMUP_REQUESTS, receipt=args.receipt)
        acknowledged |= warm.acknowledged
        errors += warm.errors
        memory = [("after warm-up", 0, rss_mib(server))]
        since_warmup = 0

        settle(urls.admin, server_url)
        sale_script = purchase.SALE_SCRIPT.format(
            customers=CUSTOMERS_PER_CLERK, products=PRODUCTS_PER_CLERK
        )
        defines = {"business": shop.business_id, "user": shop.db_user}
        with measure_cpu(server, urls.admin) as db_cpu:
            db_rate = purchase.pgbench(urls.app, DB_CONNECTIONS, args.seconds, sale_script, defines)

        results: list[tuple[int, Tally, CpuUse]] = []
        for clerks in clerk_counts:
            settle(urls.admin, server_url)
            with measure_cpu(server, urls.admin) as cpu:
                tally = run_clerks(
                    browsers[:clerks],
                    clerks_of[:clerks],
                    seconds=args.seconds,
                    receipt=args.receipt,
                )
            results.append((clerks, tally, cpu[0]))
            acknowledged |= tally.acknowledged
            errors += tally.errors
            since_warmup += tally.requests
            memory.append((f"after {clerks} clerks", since_warmup, rss_mib(server)))
        if since_warmup < args.memory_requests:
            top_up = run_clerks(
                browsers[: min(8, most)],
                clerks_of[: min(8, most)],
                requests=args.memory_requests - since_warmup,
                receipt=args.receipt,
            )
            acknowledged |= top_up.acknowledged
            errors += top_up.errors
            since_warmup += top_up.requests
            memory.append(("after the top-up", since_warmup, rss_mib(server)))

        if server.process.poll() is not None:
            raise BenchError(f"gunicorn died during the run:\n{server.log_tail()}")
        server.stop()
        check = check_sales(urls.admin, shop, acknowledged)
        return report(args, db_rate, db_cpu[0], results, memory, check, errors, server)
    finally:
        if server is not None:
            server.stop()
        purchase.recreate_database(server_url, DATABASE)
        log.unlink(missing_ok=True)


def report(
    args: argparse.Namespace,
    db_rate: float,
    db_cpu: CpuUse,
    results: list[tuple[int, Tally, CpuUse]],
    memory: list[tuple[str, int, dict[int, float]]],
    check: dict,
    errors: list[str],
    server: Gunicorn,
) -> bool:
    print(f"1. Database level: process_purchase at {DB_CONNECTIONS} connections (pgbench)\n")
    print(f"{db_rate:,.0f} sales/s\n")

    steps = "sale form, post, receipt" if args.receipt else "sale form, post"
    print(f"2. Through the web stack (each clerk in a loop: {steps})\n")
    print(
        "| clerks | sales/s | ÷ DB rate | POST p50 / p95 / p99 ms | cycle p50 / p95 / p99 ms"
        " | requests | errors | resent |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for clerks, tally, _cpu_use in results:
        rate = tally.sales_in_time / tally.seconds
        post = " / ".join(f"{percentile(tally.post_ms, q):.1f}" for q in (50, 95, 99))
        cycle = " / ".join(f"{percentile(tally.cycle_ms, q):.1f}" for q in (50, 95, 99))
        print(
            f"| {clerks} | {rate:,.0f} | {rate / db_rate:.2f}× | {post} | {cycle}"
            f" | {tally.requests:,} | {describe_errors(tally.errors)} | {tally.retries} |"
        )
    print("\n| clerks | sale form p50 / p99 ms | POST p50 / p99 ms | receipt p50 / p99 ms |")
    print("| ---: | ---: | ---: | ---: |")
    for clerks, tally, _cpu_use in results:
        cells = [
            " / ".join(f"{percentile(times, q):.1f}" for q in (50, 99)) if times else "–"
            for times in (tally.form_ms, tally.post_ms, tally.receipt_ms)
        ]
        print(f"| {clerks} | " + " | ".join(cells) + " |")
    form_kib = statistics.mean(results[0][1].form_bytes) / 1024 if results[0][1].form_bytes else 0
    print(
        f"\nSale form page: {form_kib:.0f} KiB. Resent: requests a browser would send again"
        " because the server closed the kept-alive connection as they went out."
    )

    cpus = os.cpu_count() or 1
    print("\n3. Where the CPU went (CPU milliseconds per sale; the machine's share of all cores)\n")
    print(
        "| measurement | app (gunicorn) | PostgreSQL | autovacuum | load client | machine busy"
        " | of which others | steal |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = [(f"DB level, {DB_CONNECTIONS} connections", db_rate * args.seconds, db_cpu)]
    rows += [(f"web, {c} clerks", len(t.acknowledged), u) for c, t, u in results]
    for name, sales, use in rows:
        if not sales:
            continue
        print(
            f"| {name} | {use.app / sales * 1000:.2f} | {use.database / sales * 1000:.2f}"
            f" | {use.autovacuum / sales * 1000:.2f} | {use.client / sales * 1000:.2f}"
            f" | {use.machine_busy / use.wall / cpus:.0%}"
            f" | {use.others / use.wall / cpus:.0%} | {use.steal / use.wall / cpus:.0%} |"
        )

    busiest = max(use.others / use.wall / cpus for _name, _sales, use in rows)
    if busiest > 0.2:
        print(
            f"\nOther work took up to {busiest:.0%} of the machine during a measurement:"
            " these figures are depressed; run it again on a quiet machine."
        )

    print("\n4. Memory per gunicorn worker (RSS, MiB)\n")
    pids = sorted(memory[0][2])
    print("| when | requests after warm-up | " + " | ".join(f"worker {p}" for p in pids) + " |")
    print("| --- | ---: |" + " ---: |" * len(pids))
    for when, count, rss in memory:
        cells = " | ".join(f"{rss[p]:.1f}" if p in rss else "gone" for p in pids)
        print(f"| {when} | {count:,} | {cells} |")
    final = memory[-1][2]
    growth = max((final.get(p, float("inf")) - memory[0][2][p] for p in pids), default=0.0)

    print("\n5. Sales recorded\n")
    print(f"- acknowledged (303 to a receipt): {check['acknowledged']:,}")
    print(f"- in the database under their key, with the receipt's order: {check['found']:,}")
    print(f"- lost: {check['lost']}; receipt for another order: {check['wrong_receipt']}")
    print(
        f"- web sales in the database: {check['web_orders']:,} (unacknowledged: "
        f"{check['web_orders'] - check['acknowledged']})"
    )
    print(f"- check-ledger: {'clean' if not check['violations'] else check['violations'][:5]}")
    print(f"- errors in the whole run (warm-up and top-up included): {describe_errors(errors)}")
    if server.log.read_text(errors="replace").strip():
        print(f"- gunicorn's log (warnings and errors):\n\n```\n{server.log_tail()}\n```")

    eight = next((t for c, t, _ in results if c == 8), None)
    lost = check["lost"] + check["wrong_receipt"] + (check["web_orders"] - check["acknowledged"])
    met = {
        "zero errors": (not errors, describe_errors(errors)),
        "zero lost sales": (
            lost == 0 and not check["violations"],
            f"{lost} lost or unacknowledged",
        ),
        "no memory growth after warm-up": (growth < 5.0, f"largest growth {growth:+.1f} MiB"),
    }
    if eight is not None:
        p99 = percentile(eight.post_ms, 99)
        ratio = eight.sales_in_time / eight.seconds / db_rate
        met["8 clerks: POST p99 < 100 ms"] = (p99 < TARGET_P99_MS, f"{p99:.1f} ms")
        met["8 clerks: ≥ 0.30× the DB rate"] = (ratio >= TARGET_RATIO, f"{ratio:.2f}×")
    print("\nTargets\n\n| target | measured | met |\n| --- | --- | --- |")
    for name, (ok, measured) in met.items():
        print(f"| {name} | {measured} | {'yes' if ok else '**no**'} |")
    return all(ok for ok, _ in met.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--embedded", action="store_true", help="a throwaway embedded PostgreSQL instead"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--clerks",
        type=lambda text: sorted({int(n) for n in text.split(",")}),
        default=[8, 32],
        help="comma-separated clerk counts (default 8,32)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-receipt", dest="receipt", action="store_false")
    parser.add_argument(
        "--memory-requests",
        type=int,
        default=MEMORY_REQUESTS,
        help="requests after the warm-up before the last memory reading (default 10,000)",
    )
    args = parser.parse_args()

    # SIGTERM unwinds like Ctrl-C, so gunicorn is stopped and the database dropped.
    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    with contextlib.ExitStack() as stack:
        server_url = args.server
        if args.embedded:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            running = embedded.start_server(folder / "pgdata", delete_on_exit=True)
            stack.callback(running.stop)
            server_url = running.url
        with psycopg.connect(server_url, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        met = run(args, server_url, version)
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
