"""Load through the whole web stack: clerks recording sales through gunicorn, in one run.

    .venv/bin/python bench/http_load.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                        [--embedded] [--seconds 20] [--clerks 8,32]
                                        [--workers 2] [--threads 8] [--no-receipt]
                                        [--memory-requests 10000]

The server URL must be a superuser's (or --embedded: a throwaway embedded PostgreSQL in a
temporary folder); pgbench must be on the PATH. The run makes the database
shopcredit_bench_http and the ShopCredit roles, loads one shop (clerks with a real password,
5,000 customers with high credit limits, 10,000 products with barcodes and large stock) and a
second shop of 100 products, starts the app as production does (`gunicorn wsgi:app`, gthread
workers, the app role, a secret key) on 127.0.0.1, signs every clerk in through the sign-in
form, and then:

1. measures the sale form's bytes for the same customer in the shop of 10,000 products and in
   the shop of 100 (issue 12: at most 30 KB, and the same within ±5 %);
2. warms up (every clerk, so every worker thread and pooled connection has served);
3. measures process_purchase at the database level at 8 connections, as bench/purchase.py does
   (pgbench, the same 2-item sales on the same customers and products), with gunicorn idle;
4. for each clerk count: that many clerks, each with its own session, make web sales as issue
   12 defines one: load the sale form (`GET /sales/new?customer=…`), scan two barcodes (two
   `GET /sales/lookup?code=…`, as the form's script asks), post those two products with the
   form's CSRF token and idempotency key, and follow the redirect to the receipt (--no-receipt:
   not). Every sale of a clerk is distinct, so the form's "Record it again?" never applies.
   Reports sales/s, p50/p95/p99 of each request and of the whole sale, every non-success, and
   the CPU time of the app, the database, the load client and everything else on the machine;
5. tops up to 10,000 requests after the warm-up and reports each worker's RSS along the way;
6. checks that every acknowledged sale is in the database exactly once under its key, that no
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
import json
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
from decimal import Decimal
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
SMALL_SLUG = "bench-small"  # a second shop in the same database: the sale form at 100 products
SHOP_NAME = "Bench Hardware"  # both shops: their sale forms differ only by the catalog behind them
PASSWORD = "bench-clerk-password"  # noqa: S105 (the bench's own throwaway clerks)
# Production's argon2 parameters: signing in costs what it costs in a shop.
PASSWORD_PROFILE = "RFC_9106_LOW_MEMORY"  # noqa: S105
CUSTOMERS_PER_CLERK = 50
PRODUCTS_PER_CLERK = 6  # each clerk sells its own (no row lock shared between clerks)
SHOP_CLERKS = 32  # clerks (and so customers and products) the shop has, at least
SHOP_CUSTOMERS = 5_000  # the clerks' customers, and the rest of a real shop's customer list
SHOP_PRODUCTS = 10_000  # the catalog: every product with a barcode and its own name
SMALL_PRODUCTS = 100  # the second shop's catalog
FORM_TARGET_BYTES = 30_000  # the sale form at any catalog size (issue 12: ≤ 30 KB)
FORM_SAME = 0.05  # ... and the same at 100 and 10,000 products, within ±5 %
DB_CONNECTIONS = 8
WARMUP_REQUESTS = 1_000
MEMORY_REQUESTS = 10_000
REQUEST_TIMEOUT = 30.0
AUTOVACUUM = "autovacuum worker"
SIGN_IN_AT_ONCE = 2
TARGET_P99_MS = 100.0
TARGET_RATIO = 0.10
TARGET_CPU_MS = 12.0  # app + PostgreSQL per web sale (5 requests)

HIDDEN_INPUT = re.compile(r"<input\b[^>]*>")
RECEIPT_PATH = re.compile(r"^(?:https?://[^/]+)?/sales/([0-9a-f-]{36})$")
REPEAT_QUESTION = "Record it again?"
# The sale form's own hidden fields (the page's <template> of a new line has others).
SALE_FORM_HIDDEN = ("csrf_token", "customer_id", "idempotency_key")


class BenchError(RuntimeError):
    """The run cannot go on (the app did not start, a clerk could not sign in, ...)."""


# --- the shop -----------------------------------------------------------------------------

# A catalog of up to 20 × 50 × 10 = 10,000 distinct names, as a shop's would read (accents
# included, names sharing words, so that a search has something to tell apart).
BRANDS = (
    "Amani", "Baraka", "Jua", "Zawadi", "Kilimo", "Mwangaza", "Nyota", "Tumaini", "Upendo",
    "Bahari", "Savanna", "Kijani", "Golden", "Fraîcheur", "Señor", "Royal", "Pwani", "Simba",
    "Duka Bora", "Mlima",
)  # fmt: skip
ITEMS = (
    "Rice", "Maize flour", "Wheat flour", "Sugar", "Salt", "Cooking oil", "Milk",
    "Crème fraîche", "Butter", "Tea leaves", "Café moulu", "Cocoa", "Bread", "Eggs", "Beans",
    "Lentils", "Green grams", "Tomato paste", "Jalapeño sauce", "Soap bar", "Washing powder",
    "Toothpaste", "Matches", "Candles", "Batteries AA", "Screws 4×40", "Screws 5×60", "Nails",
    "Paint white", "Paint blue", "LED bulb", "Extension cable", "Padlock", "Rope", "Bucket",
    "Jerrycan", "Sardines", "Biscuits", "Chocolate", "Mango juice", "Orange soda", "Water",
    "Yoghurt", "Cheese", "Pasta", "Noodles", "Spaghetti", "Honey", "Jam", "Peanut butter",
)  # fmt: skip
SIZES = ("100 g", "250 g", "500 g", "1 kg", "2 kg", "5 kg", "250 ml", "500 ml", "1 l", "6-pack")


def check_digit(digits: str) -> str:
    """The EAN/UPC check digit of `digits` (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


@dataclass(frozen=True)
class Item:
    """A product of the catalog as the bench knows it: its id and the barcode a scanner reads."""

    id: uuid.UUID
    name: str
    sku: str
    barcode: str
    price: Decimal


def catalog(count: int) -> list[Item]:
    """`count` products with distinct names (in a shuffled, repeatable order) and barcodes:
    EAN-13 in the in-store range (200…), every fourth a 12-digit UPC-A, which the app matches as
    its EAN-13 (0…)."""
    names = [f"{item} {brand} {size}" for brand in BRANDS for item in ITEMS for size in SIZES]
    if count > len(names):
        raise BenchError(f"the catalog has at most {len(names):,} names")
    rng = random.Random(12)  # a repeatable catalog
    rng.shuffle(names)
    items = []
    for n, name in enumerate(names[:count]):
        digits = f"6{n:010d}" if n % 4 == 3 else f"200{n:09d}"
        items.append(
            Item(
                id=uuid.uuid4(),
                name=name,
                sku=f"SKU-{n + 1:05d}",
                barcode=digits + check_digit(digits),
                price=Decimal(rng.randrange(50, 10_000)) / 100,
            )
        )
    return items


@dataclass(frozen=True)
class Clerk:
    id: uuid.UUID
    email: str
    customers: list[uuid.UUID]
    products: list[Item]


@dataclass(frozen=True)
class Shop:
    business_id: uuid.UUID
    clerks: list[Clerk]
    db_user: uuid.UUID  # the pgbench sales' user, so the web's sales can be told apart
    products: int
    customers: int


def add_business(
    conn: psycopg.Connection, slug: str, password_hash: str, clerks: int, customers: int
) -> tuple[uuid.UUID, list[tuple[uuid.UUID, str]], list[uuid.UUID]]:
    """A business with `clerks` + 1 clerks (the last one is pgbench's) and `customers`
    customers with a credit limit that no bench run reaches, numbered from 1."""
    business = conn.execute(
        "INSERT INTO businesses (slug, name) VALUES (%s, %s) RETURNING id", (slug, SHOP_NAME)
    ).fetchone()[0]
    users = conn.execute(
        "INSERT INTO users (business_id, email, name, password_hash, role)"
        " SELECT %s, 'clerk' || g || '@bench.test', 'Clerk ' || g, %s, 'clerk'"
        "   FROM generate_series(0, %s) g ORDER BY g RETURNING id, email",
        (business, password_hash, clerks),
    ).fetchall()
    customer_ids = [
        row[0]
        for row in conn.execute(
            "INSERT INTO customers (business_id, name, phone, credit_limit)"
            " SELECT %s, 'Customer ' || lpad(g::text, 5, '0'), '+2547' || lpad(g::text, 8,"
            " '0'), 9999999999 FROM generate_series(1, %s) g ORDER BY g RETURNING id",
            (business, customers),
        ).fetchall()
    ]
    return business, users, customer_ids


def add_catalog(
    conn: psycopg.Connection, business: uuid.UUID, items: list[Item], user: uuid.UUID
) -> None:
    """The products (each with a SKU and a barcode; the register of codes is kept by the
    products' trigger) and their opening stock, as the pages write it, so that check-ledger's
    stock history adds up."""
    with conn.cursor().copy(
        "COPY products (business_id, id, name, sku, barcode, price, stock) FROM STDIN"
    ) as copy:
        for item in items:
            copy.write_row((business, item.id, item.name, item.sku, item.barcode, item.price,
                            2_000_000_000))  # fmt: skip
    conn.execute(
        "INSERT INTO stock_movements (business_id, product_id, change, reason,"
        " resulting_stock, created_by)"
        " SELECT business_id, id, stock, 'opening', stock, %s FROM products"
        "  WHERE business_id = %s",
        (user, business),
    )


def seed(admin_url: str, clerk_count: int) -> tuple[Shop, Shop]:
    """The shop: clerks with a real (production-cost) password, their own customers and
    products, the rest of a 5,000-customer list and a 10,000-product catalog; numbered lookup
    tables for the pgbench script of bench/purchase.py. And a small shop of 100 products and
    one clerk, for the sale form's size."""
    password_hash = make_hasher(PASSWORD_PROFILE).hash(PASSWORD)
    own_customers = clerk_count * CUSTOMERS_PER_CLERK
    items = catalog(SHOP_PRODUCTS)
    with psycopg.connect(admin_url) as conn:
        business, users, customers = add_business(
            conn, SLUG, password_hash, clerk_count, max(SHOP_CUSTOMERS, own_customers)
        )
        add_catalog(conn, business, items, users[-1][0])
        products = [item.id for item in items[: clerk_count * PRODUCTS_PER_CLERK]]
        for table, ids in (("bench_customers", customers), ("bench_products", products)):
            conn.execute(f"CREATE TABLE {table} (n integer PRIMARY KEY, id uuid NOT NULL)")
            with conn.cursor().copy(f"COPY {table} (n, id) FROM STDIN") as copy:
                for n, row_id in enumerate(ids):
                    copy.write_row((n, row_id))
            conn.execute(f"GRANT SELECT ON {table} TO shopcredit_app")
        small, small_users, small_customers = add_business(
            conn, SMALL_SLUG, password_hash, 1, CUSTOMERS_PER_CLERK
        )
        add_catalog(conn, small, catalog(SMALL_PRODUCTS), small_users[-1][0])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    clerks = [
        Clerk(
            id=user_id,
            email=email,
            customers=customers[i * CUSTOMERS_PER_CLERK : (i + 1) * CUSTOMERS_PER_CLERK],
            products=items[i * PRODUCTS_PER_CLERK : (i + 1) * PRODUCTS_PER_CLERK],
        )
        for i, (user_id, email) in enumerate(users[:clerk_count])
    ]
    shop = Shop(business, clerks, users[-1][0], SHOP_PRODUCTS, len(customers))
    small_clerk = Clerk(small_users[0][0], small_users[0][1], small_customers, [])
    return shop, Shop(small, [small_clerk], small_users[-1][0], SMALL_PRODUCTS, CUSTOMERS_PER_CLERK)


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
    size: int  # bytes of the body as sent


class Browser:
    """One clerk's keep-alive connection and cookies (http.client from the standard library)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        self.cookies: dict[str, str] = {}
        self.requests = 0
        self.retries = 0  # requests sent again after a kept-alive connection was closed
        self.sales = 0  # sales this clerk has started: makes each of its sales distinct

    def close(self) -> None:
        self.conn.close()

    def send(
        self,
        method: str,
        path: str,
        form: list[tuple[str, str]] | None = None,
        accept: str = "text/html",
    ) -> Answer:
        headers = {"Accept": accept}
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
            raw = response.read()
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
        text = raw.decode("utf-8", errors="replace")
        return Answer(response.status, response.getheader("Location") or "", text, len(raw))


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


def sign_in(browser: Browser, email: str, slug: str = SLUG) -> None:
    page = browser.send("GET", "/login")
    token = hidden_fields(page.body).get("csrf_token")
    if page.status != 200 or not token:
        raise BenchError(f"the sign-in form answered {page.status} without a CSRF token")
    answer = browser.send(
        "POST",
        "/login",
        [("csrf_token", token), ("business", slug), ("email", email), ("password", PASSWORD)],
    )
    if answer.status not in (302, 303) or "/login" in answer.location:
        raise BenchError(f"{email} could not sign in: {answer.status} {answer.location!r}")


# --- a measured phase ---------------------------------------------------------------------


@dataclass
class Tally:
    """What the clerks of one phase did. Lists are appended to from many threads (atomic)."""

    form_ms: list[float] = field(default_factory=list)
    lookup_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    receipt_ms: list[float] = field(default_factory=list)
    cycle_ms: list[float] = field(default_factory=list)
    form_bytes: list[int] = field(default_factory=list)
    lookup_bytes: list[int] = field(default_factory=list)
    sales_in_time: int = 0  # acknowledged before the phase's end
    acknowledged: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # key -> order id
    errors: list[str] = field(default_factory=list)
    repeats: int = 0  # 409 "Record it again?": the same sale minutes ago (never expected here)
    requests: int = 0
    retries: int = 0  # sent again on a new connection (see Browser.send)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def scan(browser: Browser, item: Item, tally: Tally) -> str | None:
    """What the sale form's script does when a scanner sends a barcode and Enter: the exact
    product, by code. Its id, or None (an error counted) when another answer came."""
    started = time.perf_counter()
    answer = browser.send(
        "GET", "/sales/lookup?" + urlencode({"code": item.barcode}), accept="application/json"
    )
    tally.lookup_ms.append((time.perf_counter() - started) * 1000)
    tally.lookup_bytes.append(answer.size)
    found = []
    if answer.status == 200:
        with contextlib.suppress(ValueError, AttributeError):
            found = json.loads(answer.body).get("products") or []
    if len(found) != 1 or found[0].get("id") != str(item.id):
        tally.errors.append(f"lookup: {answer.status}, {len(found)} products")
        return None
    return str(found[0]["id"])


def one_sale(
    browser: Browser, clerk: Clerk, rng: random.Random, receipt: bool, tally: Tally
) -> bool:
    """One web sale as issue 12 defines it: load the sale form for a customer, scan two
    barcodes (two lookups), post those two products, follow the redirect to the receipt. True when
    acknowledged.

    Every sale of a clerk is distinct (the quantities count the clerk's sales), so the form's
    "Record it again?" (the same lines for the same customer by the same clerk within 10
    minutes) never applies: a 409 asking it is counted apart, and 0 of them is a check."""
    customer = rng.choice(clerk.customers)
    first, second = rng.sample(clerk.products, 2)
    browser.sales += 1
    quantities = (1 + browser.sales % 100, 1 + browser.sales // 100 % 1000)
    started = time.perf_counter()
    form = browser.send("GET", f"/sales/new?customer={customer}")
    loaded = time.perf_counter()
    fields = hidden_fields(form.body)
    if form.status != 200 or any(name not in fields for name in SALE_FORM_HIDDEN):
        tally.errors.append(f"sale form: {form.status}")
        return False
    tally.form_bytes.append(form.size)
    tally.form_ms.append((loaded - started) * 1000)
    products = [scan(browser, item, tally) for item in (first, second)]
    if None in products:
        return False
    key = uuid.UUID(fields["idempotency_key"])
    # The fields a browser sends, in the page's order: the hidden ones, the finder (empty after
    # a scan), each line's product and quantity, the quick entry (empty), the button pressed.
    data = [(name, fields[name]) for name in SALE_FORM_HIDDEN]
    data.append(("find", ""))
    for product, quantity in zip(products, quantities, strict=True):
        data += [("product", str(product)), ("quantity", str(quantity))]
    data += [("amount", ""), ("note", ""), ("action", "record")]
    posted = time.perf_counter()
    answer = browser.send("POST", "/sales/new", data)
    done = time.perf_counter()
    if answer.status == 409 and REPEAT_QUESTION in answer.body:
        with tally.lock:
            tally.repeats += 1
        return False
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


def sale_form_sizes(port: int, browser: Browser, shop: Shop, small: Shop) -> dict[int, int]:
    """The sale form's bytes for the same customer (name, phone, limit, no sales yet) in the
    shop of 10,000 products and in the shop of 100: catalog size → bytes."""
    small_clerk = small.clerks[0]
    small_browser = Browser(port)
    sign_in(small_browser, small_clerk.email, SMALL_SLUG)
    sizes = {}
    for catalog_size, who, customer in (
        (shop.products, browser, shop.clerks[0].customers[0]),
        (small.products, small_browser, small_clerk.customers[0]),
    ):
        page = who.send("GET", f"/sales/new?customer={customer}")
        if page.status != 200 or "Product, SKU or barcode" not in page.body:
            raise BenchError(f"the sale form answered {page.status} in the shop of {catalog_size}")
        sizes[catalog_size] = page.size
        who.close()
    return sizes


def run(args: argparse.Namespace, server_url: str, version: str) -> bool:
    clerk_counts = args.clerks
    most = max(clerk_counts)
    purchase.recreate_database(server_url, DATABASE)
    urls = embedded.create_roles_and_database(server_url, DATABASE)
    server: Gunicorn | None = None
    log = Path(tempfile.mkstemp(prefix="shopcredit-gunicorn-", suffix=".log")[1])
    try:
        migrate.upgrade(urls.admin)
        # The same shop whatever clerk counts are asked for.
        shop, small = seed(urls.admin, max(most, SHOP_CLERKS))
        server = start_gunicorn(urls, args.workers, args.threads, log)
        acknowledged: dict[uuid.UUID, uuid.UUID] = {}
        errors: list[str] = []
        repeats = 0
        print(
            f"PostgreSQL {version}; gunicorn gthread, {args.workers} workers × {args.threads}"
            f" threads; {os.cpu_count()} CPUs; {args.seconds:g} s per measurement;"
            f" receipts {'followed' if args.receipt else 'not followed'};"
            f" catalog {shop.products:,} products (each with a barcode),"
            f" {shop.customers:,} customers; a second shop of {small.products} products\n"
        )

        clerks_of = shop.clerks[:most]
        browsers = sign_in_all(server.port, clerks_of)
        form_sizes = sale_form_sizes(server.port, browsers[0], shop, small)
        warm = run_clerks(browsers, clerks_of, requests=WARMUP_REQUESTS, receipt=args.receipt)
        acknowledged |= warm.acknowledged
        errors += warm.errors
        repeats += warm.repeats
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
            repeats += tally.repeats
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
            repeats += top_up.repeats
            since_warmup += top_up.requests
            memory.append(("after the top-up", since_warmup, rss_mib(server)))

        if server.process.poll() is not None:
            raise BenchError(f"gunicorn died during the run:\n{server.log_tail()}")
        server.stop()
        check = check_sales(urls.admin, shop, acknowledged)
        return report(
            args, db_rate, db_cpu[0], results, memory, check, errors, repeats, form_sizes, server
        )
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
    repeats: int,
    form_sizes: dict[int, int],
    server: Gunicorn,
) -> bool:
    print(f"1. Database level: process_purchase at {DB_CONNECTIONS} connections (pgbench)\n")
    print(f"{db_rate:,.0f} sales/s\n")

    steps = "sale form, 2 code lookups, post" + (", receipt" if args.receipt else "")
    print(f"2. Through the web stack (each clerk in a loop: {steps})\n")
    print(
        "| clerks | sales/s | ÷ DB rate | POST p50 / p95 / p99 ms | sale p50 / p95 / p99 ms"
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
    print(
        "\n| clerks | sale form p50 / p99 ms | lookup p50 / p99 ms | POST p50 / p99 ms"
        " | receipt p50 / p99 ms |"
    )
    print("| ---: | ---: | ---: | ---: | ---: |")
    for clerks, tally, _cpu_use in results:
        cells = [
            " / ".join(f"{percentile(times, q):.1f}" for q in (50, 99)) if times else "–"
            for times in (tally.form_ms, tally.lookup_ms, tally.post_ms, tally.receipt_ms)
        ]
        print(f"| {clerks} | " + " | ".join(cells) + " |")
    print(
        "\n(A sale is 5 requests: the form, two lookups, the POST and the receipt. Resent:"
        " requests a browser would send again because the server closed the kept-alive"
        " connection as they went out.)"
    )

    big, little = max(form_sizes), min(form_sizes)
    difference = form_sizes[big] / form_sizes[little] - 1
    lookup_sizes = [size for _c, tally, _u in results for size in tally.lookup_bytes]
    print("\n3. The sale form's size (the same customer, no sales yet)\n")
    print("| catalog | sale form bytes |\n| ---: | ---: |")
    for catalog_size in sorted(form_sizes):
        print(f"| {catalog_size:,} products | {form_sizes[catalog_size]:,} |")
    in_run = [size for _c, tally, _u in results for size in tally.form_bytes]
    if in_run:
        print(
            f"\nDuring the measurements: {min(in_run):,}–{max(in_run):,} bytes (customers with"
            f" a balance); a lookup's answer {statistics.mean(lookup_sizes):,.0f} bytes."
        )

    cpus = os.cpu_count() or 1
    print("\n4. Where the CPU went (CPU milliseconds per sale; the machine's share of all cores)\n")
    print(
        "| measurement | app (gunicorn) | PostgreSQL | app + PostgreSQL | autovacuum"
        " | load client | machine busy | of which others | steal |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = [(f"DB level, {DB_CONNECTIONS} connections", db_rate * args.seconds, db_cpu)]
    rows += [(f"web, {c} clerks", len(t.acknowledged), u) for c, t, u in results]
    for name, sales, use in rows:
        if not sales:
            continue
        print(
            f"| {name} | {use.app / sales * 1000:.2f} | {use.database / sales * 1000:.2f}"
            f" | {(use.app + use.database) / sales * 1000:.2f}"
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

    print("\n5. Memory per gunicorn worker (RSS, MiB)\n")
    pids = sorted(memory[0][2])
    print("| when | requests after warm-up | " + " | ".join(f"worker {p}" for p in pids) + " |")
    print("| --- | ---: |" + " ---: |" * len(pids))
    for when, count, rss in memory:
        cells = " | ".join(f"{rss[p]:.1f}" if p in rss else "gone" for p in pids)
        print(f"| {when} | {count:,} | {cells} |")
    final = memory[-1][2]
    growth = max((final.get(p, float("inf")) - memory[0][2][p] for p in pids), default=0.0)

    print("\n6. Sales recorded\n")
    print(f"- acknowledged (redirected to a receipt): {check['acknowledged']:,}")
    print(f"- in the database under their key, with the receipt's order: {check['found']:,}")
    print(f"- lost: {check['lost']}; receipt for another order: {check['wrong_receipt']}")
    print(
        f"- web sales in the database: {check['web_orders']:,} (unacknowledged: "
        f"{check['web_orders'] - check['acknowledged']})"
    )
    print(f"- answered 409 “{REPEAT_QUESTION}” (not recorded, not an error): {repeats}")
    print(f"- check-ledger: {'clean' if not check['violations'] else check['violations'][:5]}")
    print(f"- errors in the whole run (warm-up and top-up included): {describe_errors(errors)}")
    if server.log.read_text(errors="replace").strip():
        print(f"- gunicorn's log (warnings and errors):\n\n```\n{server.log_tail()}\n```")

    eight = next(((t, u) for c, t, u in results if c == 8), None)
    lost = check["lost"] + check["wrong_receipt"] + (check["web_orders"] - check["acknowledged"])
    met = {
        "zero errors": (not errors, describe_errors(errors)),
        "zero lost sales": (
            lost == 0 and not check["violations"],
            f"{lost} lost or unacknowledged",
        ),
        "every sale distinct: no “Record it again?”": (repeats == 0, str(repeats)),
        "no memory growth after warm-up": (growth < 5.0, f"largest growth {growth:+.1f} MiB"),
        f"sale form ≤ 30 KB at {little} and at {big:,} products": (
            max(form_sizes.values()) <= FORM_TARGET_BYTES,
            f"{form_sizes[little]:,} and {form_sizes[big]:,} bytes",
        ),
        "sale form the same size ±5 %": (abs(difference) <= FORM_SAME, f"{difference:+.1%}"),
    }
    if eight is not None:
        tally, use = eight
        p99 = percentile(tally.post_ms, 99)
        ratio = tally.sales_in_time / tally.seconds / db_rate
        cpu_ms = (use.app + use.database) / max(len(tally.acknowledged), 1) * 1000
        met[f"8 clerks: app + PostgreSQL CPU ≤ {TARGET_CPU_MS:g} ms per sale"] = (
            cpu_ms <= TARGET_CPU_MS,
            f"{cpu_ms:.2f} ms",
        )
        met[f"8 clerks: ≥ {TARGET_RATIO:.2f}× the DB rate"] = (
            ratio >= TARGET_RATIO,
            f"{ratio:.3f}×",
        )
        met["8 clerks: POST p99 < 100 ms"] = (p99 < TARGET_P99_MS, f"{p99:.1f} ms")
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
