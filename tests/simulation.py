"""A seeded, randomized, concurrent simulation of many tills working on one small shop.

Shared by tests/test_simulation.py (a few thousand operations) and bench/simulation.py (100,000
or more). Threads do random sales, payments, deliveries, damage, count corrections, price
changes, credit-limit changes, and an owner's corrections (returns, voids, payment reversals,
sales over the limit with an override) on a few customers and products, through the real ledger
functions (webapp.ledger) as the app role with the tenant bound, exactly as a request does.
Some requests are resent later with the same idempotency key (a till that lost the answer),
some are sent twice at once from two threads (a double click racing itself), and a killer
thread terminates random busy backends of the app role (`pg_terminate_backend`) from a
superuser connection. A request whose connection died has an unknown outcome: the till sends
it again with the same key until it gets an answer, and the ledger must then have recorded it
exactly once.

At the end, `check()` verifies: check-ledger's invariants; no product below zero; every sale's
balance within the credit limit in force at that moment and every line at the price in force
at that moment (or carrying an owner's override); every acknowledged sale, payment, stock
change, return and reversal recorded exactly once, as answered; nothing recorded that was
refused or never sent.

Reproducing: the seed fixes every thread's sequence of requests (what, to whom, how much, with
which key, which are resent or doubled) and the killer's pauses. The interleaving of threads
and where a kill lands are the scheduler's, so a seed replays the same workload, not the same
timing. Every failure message starts with `seed=N`; SHOPCREDIT_SIM_SEED=N reruns it.

"The limit in force at that moment" (and the price): a logical clock, the sequence
simulation_clock, made with the side tables below by the owner for the run and dropped after.
- A limit change is `UPDATE customers SET credit_limit` followed, in the same transaction, by
  a row (customer, nextval, limit) in simulation_limits; the UPDATE holds the customer's row
  lock from that statement until commit, so the clock value is drawn under that lock.
  Price changes do the same on the product row (simulation_prices).
- A sale draws its clock value in the same transaction after process_purchase has returned,
  just before COMMIT (a `before_commit` hook on the session inserts (key, nextval) into
  simulation_sale_clock). process_purchase locked the customer and every product of the sale
  (FOR NO KEY UPDATE) and holds those locks until that commit, so the value is drawn under them.
  Drawing it after the function, not by locking the customer ourselves first, keeps the
  simulation from adding a lock the ledger might be missing: a process_purchase that forgot
  its lock would be caught, not shielded.
Why that is sound: a sale and a limit change of one customer both hold that customer's row
lock, and these locks conflict, so their lock-holding intervals never overlap; each draws its
clock value inside its interval, and sequence values increase in the order they are drawn. So
limit change L precedes sale S in the customer's lock order iff clock(L) < clock(S); S read the
limit under its lock (in READ COMMITTED a locking read sees the latest committed row), which
is therefore the limit of the latest committed change with clock < clock(S). A killed or
refused transaction rolls back its clock row with everything else, so the side tables hold
exactly the committed changes. The same argument over each product's row gives the price.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from tests.helpers import record_opening_stock
from webapp import ledger
from webapp.db import TENANT_KEY, Database, sqlalchemy_url
from webapp.embedded import DatabaseUrls, app_login
from webapp.ledger_check import find_violations

SEED_ENV = "SHOPCREDIT_SIM_SEED"
CENT = Decimal("0.01")

# What a worker does, by weight. "resend" sends an earlier acknowledged request again.
MIX = {
    "sale": 40,
    "payment": 22,
    "delivery": 9,
    "damage": 3,
    "count_correction": 3,
    "price": 5,
    "credit_limit": 6,
    "return": 4,
    "void": 2,
    "reversal": 2,
    "override": 2,
    "resend": 6,
}
KINDS = list(MIX)
WEIGHTS = list(MIX.values())
STOCK_KINDS = frozenset({"delivery", "damage", "count_correction"})
CORRECTION_KINDS = frozenset({"return", "void", "reversal", "override"})
LEDGER_KINDS = frozenset({"sale", "payment"}) | STOCK_KINDS | CORRECTION_KINDS
DOUBLE_RATE = 0.06  # ledger requests sent twice at once, from two threads
NAMED_ORDER_RATE = 0.1  # payments that name one of the customer's sales
MAX_ATTEMPTS = 200  # sends of one request before giving up on learning its outcome
MAX_ERRORS = 3  # of those, how many may fail with an error that is neither a refusal nor a kill

# The refusals a till can meet in this workload; any other is a failure.
EXPECTED_REFUSALS: dict[str, tuple[type[ledger.LedgerError], ...]] = {
    "sale": (ledger.InsufficientStock, ledger.CreditLimitExceeded, ledger.Busy),
    "payment": (ledger.PaymentExceedsBalance, ledger.InvalidInput, ledger.Busy),
    "delivery": (ledger.Busy,),
    "damage": (ledger.InsufficientStock, ledger.Busy),
    "count_correction": (ledger.Busy,),
    "return": (ledger.NothingToReturn, ledger.MoreThanReturnable, ledger.Busy),
    "void": (ledger.NothingToReturn, ledger.Busy),
    "reversal": (ledger.AlreadyReversed, ledger.PartlyRefunded, ledger.Busy),
    "override": (ledger.InsufficientStock, ledger.Busy),
}

SIDE_TABLES = """
CREATE SEQUENCE simulation_clock;
CREATE TABLE simulation_sale_clock (idempotency_key uuid PRIMARY KEY, tick bigint NOT NULL);
CREATE TABLE simulation_limits (customer_id uuid NOT NULL, tick bigint NOT NULL,
                                credit_limit numeric(12, 2) NOT NULL,
                                PRIMARY KEY (customer_id, tick));
CREATE TABLE simulation_prices (product_id uuid NOT NULL, tick bigint NOT NULL,
                                price numeric(12, 2) NOT NULL, PRIMARY KEY (product_id, tick));
GRANT SELECT, INSERT ON simulation_sale_clock, simulation_limits, simulation_prices
    TO shopcredit_app;
GRANT USAGE ON SEQUENCE simulation_clock TO shopcredit_app;
"""
DROP_SIDE_TABLES = """
DROP TABLE IF EXISTS simulation_sale_clock, simulation_limits, simulation_prices;
DROP SEQUENCE IF EXISTS simulation_clock;
"""

SALE_KEY = "simulation.sale_key"
SALE_CLOCK = text(
    "INSERT INTO simulation_sale_clock (idempotency_key, tick)"
    " VALUES (:key, nextval('simulation_clock')) ON CONFLICT DO NOTHING"
)
SET_LIMIT = text("UPDATE customers SET credit_limit = :value WHERE id = :id")
LIMIT_CLOCK = text(
    "INSERT INTO simulation_limits (customer_id, tick, credit_limit)"
    " VALUES (:id, nextval('simulation_clock'), :value)"
)
SET_PRICE = text("UPDATE products SET price = :value WHERE id = :id")
PRICE_CLOCK = text(
    "INSERT INTO simulation_prices (product_id, tick, price)"
    " VALUES (:id, nextval('simulation_clock'), :value)"
)


def default_seed(fallback: int) -> int:
    """The seed in SHOPCREDIT_SIM_SEED, else `fallback`."""
    value = os.environ.get(SEED_ENV)
    return int(value) if value else fallback


@dataclass(frozen=True)
class Config:
    seed: int
    operations: int
    threads: int
    customers: int = 8
    products: int = 6
    kill_every: float = 0.2  # mean seconds between kills; 0 for none


@dataclass(frozen=True)
class Shop:
    business_id: uuid.UUID
    user_id: uuid.UUID  # the clerk at the tills
    owner_id: uuid.UUID  # who corrects: returns, voids, reversals, overrides
    customers: list[uuid.UUID]
    products: list[uuid.UUID]


@dataclass(frozen=True)
class Op:
    """One request as a till sends it; a resend or a retry sends the very same Op."""

    kind: str
    key: uuid.UUID
    customer: uuid.UUID | None = None
    product: uuid.UUID | None = None
    lines: tuple[tuple[uuid.UUID, int], ...] = ()
    amount: Decimal | None = None  # a payment's
    method: str = "cash"
    order: uuid.UUID | None = None  # the sale a payment names, or a return takes back from
    payment: uuid.UUID | None = None  # the payment a reversal undoes
    change: int | None = None
    counted: int | None = None
    value: Decimal | None = None  # the new price or credit limit


@dataclass(frozen=True)
class Answer:
    record_id: uuid.UUID  # order, payment, stock movement, return, or the payment reversed
    created: bool
    total: Decimal | None = None  # a sale's


@dataclass
class Track:
    """Everything the tills were told about one idempotency key."""

    op: Op
    answers: list[Answer] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    unknown: bool = False  # never got an answer, even after MAX_ATTEMPTS


@dataclass
class Stats:
    ops: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    lost: int = 0  # answers lost to a killed connection (then sent again)
    doubles: int = 0
    failures: list[str] = field(default_factory=list)

    def merge(self, other: Stats) -> None:
        self.ops.update(other.ops)
        self.refusals.update(other.refusals)
        self.requests += other.requests
        self.lost += other.lost
        self.doubles += other.doubles
        self.failures.extend(other.failures)


@dataclass
class Result:
    config: Config
    elapsed: float
    stats: Stats
    kills: int
    checks: dict[str, int]  # what the final checks looked at
    failures: list[str]

    def failure_message(self) -> str:
        seed = self.config.seed
        shown = "\n".join(self.failures[:30])
        more = f"\n… and {len(self.failures) - 30} more" if len(self.failures) > 30 else ""
        return (
            f"seed={seed}: {len(self.failures)} failure(s) in the simulation "
            f"(rerun with {SEED_ENV}={seed})\n{shown}{more}"
        )

    def report(self) -> str:
        stats, elapsed = self.stats, self.elapsed
        total = sum(stats.ops.values())
        lines = [
            f"seed={self.config.seed}, {self.config.threads} threads, "
            f"{self.config.customers} customers, {self.config.products} products",
            f"{total:,} operations ({stats.requests:,} requests sent) in {elapsed:.1f} s: "
            f"{total / elapsed:,.0f} ops/s",
            "",
            "| kind | operations | ops/s | refused |",
            "| --- | ---: | ---: | ---: |",
        ]
        for kind in KINDS:
            refused = sum(n for name, n in stats.refusals.items() if name.startswith(kind + ":"))
            count = stats.ops[kind]
            lines.append(f"| {kind} | {count:,} | {count / elapsed:,.0f} | {refused:,} |")
        lines += ["", "| refusal | count |", "| --- | ---: |"]
        lines += [f"| {name} | {n:,} |" for name, n in sorted(stats.refusals.items())]
        lines += [
            "",
            f"doubled (sent from two threads at once): {stats.doubles:,}",
            f"backends killed: {self.kills:,}; answers lost and the request sent again: "
            f"{stats.lost:,}",
            "",
            "| final check | count |",
            "| --- | ---: |",
        ]
        lines += [f"| {name} | {count:,} |" for name, count in self.checks.items()]
        lines += ["", f"failures: {len(self.failures)}"]
        return "\n".join(lines)


# --- setup --------------------------------------------------------------------------------


def make_shop(admin_url: str, rng: random.Random, customers: int, products: int) -> Shop:
    """One business, one clerk, a few customers and products (as the owner)."""
    with psycopg.connect(admin_url) as conn:
        business = conn.execute(
            "INSERT INTO businesses (slug, name, timezone) VALUES ('simulation', 'Simulation',"
            " 'UTC') RETURNING id"
        ).fetchone()[0]
        user, owner = (
            conn.execute(
                "INSERT INTO users (business_id, email, name, password_hash, role)"
                " VALUES (%s, %s, %s, 'x', %s) RETURNING id",
                (business, f"{role}@simulation.test", role.title(), role),
            ).fetchone()[0]
            for role in ("clerk", "owner")
        )
        customer_ids = [
            conn.execute(
                "INSERT INTO customers (business_id, name, credit_limit) VALUES (%s, %s, %s)"
                " RETURNING id",
                (business, f"Customer {n}", _limit(rng)),
            ).fetchone()[0]
            for n in range(customers)
        ]
        product_ids = []
        for n in range(products):
            stock = rng.randint(0, 40)
            product = conn.execute(
                "INSERT INTO products (business_id, name, price, stock) VALUES (%s, %s, %s, %s)"
                " RETURNING id",
                (business, f"Product {n}", _price(rng), stock),
            ).fetchone()[0]
            record_opening_stock(conn, business, product, stock)
            product_ids.append(product)
        conn.execute(SIDE_TABLES)
        # What is in force before the first operation.
        conn.execute(
            "INSERT INTO simulation_limits SELECT id, nextval('simulation_clock'), credit_limit"
            " FROM customers WHERE business_id = %s",
            (business,),
        )
        conn.execute(
            "INSERT INTO simulation_prices SELECT id, nextval('simulation_clock'), price"
            " FROM products WHERE business_id = %s",
            (business,),
        )
    return Shop(business, user, owner, customer_ids, product_ids)


def drop_side_tables(admin_url: str) -> None:
    with psycopg.connect(admin_url) as conn:
        conn.execute(DROP_SIDE_TABLES)


def _limit(rng: random.Random) -> Decimal:
    return Decimal(rng.choice((0, 50, 100, 200, 300, 500, 800)) + rng.randint(0, 99))


def _price(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(50, 2000)) * CENT


def _key(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def app_database(app_url: str, connections: int) -> Database:
    """The app's Database (its tenant binding, lock_timeout and dropped-connection check), with
    a pool big enough for every thread of the run."""
    database = Database(app_url, None, pool_size=connections, max_overflow=0, pool_timeout=60)

    def clock_the_sale(session: Session) -> None:
        # Runs inside the sale's transaction, after process_purchase returned and before
        # COMMIT: under the customer's and products' locks (see the module's docstring).
        key = session.info.get(SALE_KEY)
        if key is not None:
            session.execute(SALE_CLOCK, {"key": key})

    event.listen(database.sessions, "before_commit", clock_the_sale)
    return database


# --- one request ---------------------------------------------------------------------------


class Lost(Exception):
    """The connection died under the request (killed): its outcome is unknown."""


def _connection_lost(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error.orig, psycopg.OperationalError)
    )


class Till:
    def __init__(self, database: Database, shop: Shop) -> None:
        self.database = database
        self.shop = shop

    @contextmanager
    def session(self) -> Iterator[Session]:
        """As the app role with the business bound, like a request's (tests.helpers'
        tenant_session, without a Flask app)."""
        with self.database.sessions() as session:
            session.info[TENANT_KEY] = self.shop.business_id
            yield session

    def execute(self, op: Op) -> Answer | ledger.LedgerError:
        """Send `op` once: its answer, its refusal, or Lost."""
        try:
            return self._execute(op)
        except ledger.LedgerError as refusal:
            return refusal
        except DBAPIError as error:
            if _connection_lost(error):
                raise Lost(str(error.orig)) from error
            raise

    def _execute(self, op: Op) -> Answer:
        user, owner = self.shop.user_id, self.shop.owner_id
        with self.session() as session:
            if op.kind in ("sale", "override"):
                assert op.customer is not None
                session.info[SALE_KEY] = op.key
                sale = ledger.purchase(
                    session,
                    customer_id=op.customer,
                    lines=[ledger.Line(product, qty) for product, qty in op.lines],
                    idempotency_key=op.key,
                    user_id=owner if op.kind == "override" else user,
                    override_reason="simulated override" if op.kind == "override" else None,
                )
                return Answer(sale.order_id, sale.created, sale.total)
            if op.kind in ("return", "void"):
                assert op.order is not None
                returned = ledger.record_return(
                    session,
                    order_id=op.order,
                    reason="simulated",
                    idempotency_key=op.key,
                    user_id=owner,
                    lines=(
                        [ledger.Line(p, q) for p, q in op.lines] if op.kind == "return" else None
                    ),
                    void=op.kind == "void",
                    refund_method=op.method,
                )
                return Answer(returned.return_id, returned.created)
            if op.kind == "reversal":
                assert op.payment is not None
                reversal = ledger.reverse_payment(
                    session,
                    payment_id=op.payment,
                    reason="simulated",
                    idempotency_key=op.key,
                    user_id=owner,
                )
                return Answer(op.payment, reversal.created)
            if op.kind == "payment":
                assert op.customer is not None and op.amount is not None
                receipt = ledger.pay(
                    session,
                    customer_id=op.customer,
                    amount=op.amount,
                    method=op.method,
                    note="",
                    idempotency_key=op.key,
                    user_id=user,
                    order_id=op.order,
                )
                return Answer(receipt.payment_id, receipt.created)
            if op.kind in STOCK_KINDS:
                assert op.product is not None
                change = ledger.adjust_stock(
                    session,
                    product_id=op.product,
                    reason=op.kind,
                    idempotency_key=op.key,
                    user_id=user,
                    change=op.change,
                    counted=op.counted,
                )
                return Answer(change.movement_id, change.created)
            # Owner's changes, as the app role with the tenant bound (no ledger function).
            update, clock = (
                (SET_PRICE, PRICE_CLOCK) if op.kind == "price" else (SET_LIMIT, LIMIT_CLOCK)
            )
            row = op.product if op.kind == "price" else op.customer
            params = {"id": row, "value": op.value}
            updated = session.execute(update, params).rowcount  # type: ignore[attr-defined]
            if updated != 1:
                raise AssertionError(f"{op.kind} change updated {updated} rows")
            session.execute(clock, params)
            session.commit()
            return Answer(None, True)

    def send(self, op: Op, stats: Stats, seed: int) -> Answer | ledger.LedgerError | None:
        """Send `op` until its outcome is known, with the same key each time, as a till
        would after losing the answer. None: never learnt (a failure)."""
        errors = 0
        for _ in range(MAX_ATTEMPTS):
            stats.requests += 1
            try:
                return self.execute(op)
            except Lost:
                stats.lost += 1
            except Exception as error:  # anything else is a bug; try to learn the outcome
                first_line = str(error).partition("\n")[0]
                stats.failures.append(
                    f"seed={seed}: {op.kind} {op.key} raised {type(error).__name__}: {first_line}"
                )
                errors += 1
                if errors == MAX_ERRORS:
                    break
            time.sleep(0.001)
        stats.failures.append(f"seed={seed}: {op.kind} {op.key}: never answered")
        return None


# --- the workers ---------------------------------------------------------------------------


class Worker:
    def __init__(self, index: int, till: Till, shop: Shop, config: Config, count: int) -> None:
        # A string seed is hashed the same way on every run and platform.
        self.rng = random.Random(f"{config.seed}:worker:{index}")
        self.till = till
        self.shop = shop
        self.seed = config.seed
        self.count = count
        self.stats = Stats()
        self.tracks: dict[uuid.UUID, Track] = {}
        self.acknowledged: list[Track] = []  # ledger requests answered, in order
        self.sales_of: dict[uuid.UUID, list[uuid.UUID]] = {}  # customer → acknowledged orders
        self.lines_of: dict[uuid.UUID, tuple[tuple[uuid.UUID, int], ...]] = {}  # order → lines
        self.payments: list[uuid.UUID] = []  # acknowledged payments

    def next_op(self) -> Op | None:
        """Draw the next request. Every call consumes the same draws whatever the outcomes so
        far, so a seed gives every worker the same sequence of requests on every run."""
        rng, shop = self.rng, self.shop
        kind = rng.choices(KINDS, WEIGHTS)[0]
        pick, key = rng.random(), _key(rng)
        customer, product = rng.choice(shop.customers), rng.choice(shop.products)
        if kind == "resend":
            if not self.acknowledged:
                return None
            return self.acknowledged[int(pick * len(self.acknowledged))].op
        if kind in ("sale", "override"):
            products = rng.sample(shop.products, rng.choice((1, 1, 2, 3)))
            lines = tuple((p, rng.randint(1, 4)) for p in products)
            return Op(kind, key, customer=customer, lines=lines)
        if kind in ("return", "void"):
            orders = [order for sales in self.sales_of.values() for order in sales]
            if not orders:
                return None
            # Drawn from the key, so the worker's own sequence of draws stays the same.
            mine = random.Random(key.int)
            order = orders[int(pick * len(orders))]
            method = mine.choice(list(ledger.PAYMENT_METHODS))
            if kind == "void":
                return Op(kind, key, order=order, method=method)
            sold = self.lines_of[order]
            lines = tuple((p, mine.randint(1, q)) for p, q in sold[: mine.randint(1, len(sold))])
            return Op(kind, key, order=order, lines=lines, method=method)
        if kind == "reversal":
            if not self.payments:
                return None
            return Op(kind, key, payment=self.payments[int(pick * len(self.payments))])
        if kind == "payment":
            amount = Decimal(rng.randint(1, 15000)) * CENT
            method = rng.choice(list(ledger.PAYMENT_METHODS))
            named = rng.random() < NAMED_ORDER_RATE
            orders = self.sales_of.get(customer, [])
            order = orders[int(pick * len(orders))] if named and orders else None
            return Op(kind, key, customer=customer, amount=amount, method=method, order=order)
        if kind == "delivery":
            return Op(kind, key, product=product, change=rng.randint(5, 40))
        if kind == "damage":
            return Op(kind, key, product=product, change=-rng.randint(1, 3))
        if kind == "count_correction":
            return Op(kind, key, product=product, counted=rng.randint(0, 40))
        if kind == "price":
            return Op(kind, key, product=product, value=_price(rng))
        return Op(kind, key, customer=customer, value=_limit(rng))

    def run(self) -> None:
        with ThreadPoolExecutor(max_workers=1) as twin:
            done = 0
            while done < self.count:
                op = self.next_op()
                doubled = self.rng.random() < DOUBLE_RATE
                if op is None:
                    continue
                done += 1
                resend = op.key in self.tracks
                self.stats.ops["resend" if resend else op.kind] += 1
                if op.kind not in LEDGER_KINDS:
                    self.till.send(op, self.stats, self.seed)
                    continue
                if doubled and not resend:
                    outcomes = self._twice(twin, op)
                else:
                    outcomes = [self.till.send(op, self.stats, self.seed)]
                self._record(op, outcomes, resend)

    def _twice(self, twin: ThreadPoolExecutor, op: Op) -> list[Answer | ledger.LedgerError | None]:
        self.stats.doubles += 1
        barrier = threading.Barrier(2)
        other = Stats()

        def send(stats: Stats) -> Answer | ledger.LedgerError | None:
            barrier.wait()
            return self.till.send(op, stats, self.seed)

        future = twin.submit(send, other)
        mine = send(self.stats)
        theirs = future.result()
        self.stats.merge(other)
        return [mine, theirs]

    def _record(
        self, op: Op, outcomes: list[Answer | ledger.LedgerError | None], resend: bool
    ) -> None:
        track = self.tracks.setdefault(op.key, Track(op))
        was_acknowledged = bool(track.answers)
        for outcome in outcomes:
            if outcome is None:
                track.unknown = True
            elif isinstance(outcome, ledger.LedgerError):
                name = type(outcome).__name__
                self.stats.refusals[f"{op.kind}:{name}"] += 1
                track.refusals.append(name)
                if not isinstance(outcome, EXPECTED_REFUSALS[op.kind]) or (
                    isinstance(outcome, ledger.InvalidInput) and outcome.field != "order_id"
                ):
                    self.stats.failures.append(
                        f"seed={self.seed}: {op.kind} {op.key} refused unexpectedly: "
                        f"{name} {outcome.message} {outcome.detail}"
                    )
                if resend:
                    self.stats.failures.append(
                        f"seed={self.seed}: resent {op.kind} {op.key}, acknowledged before, "
                        f"was refused: {name}"
                    )
            else:
                if resend and outcome.created:
                    self.stats.failures.append(
                        f"seed={self.seed}: resent {op.kind} {op.key} was recorded again"
                    )
                track.answers.append(outcome)
        if track.answers and not was_acknowledged:
            self.acknowledged.append(track)
            if op.kind in ("sale", "override") and op.customer is not None:
                order = track.answers[0].record_id
                self.sales_of.setdefault(op.customer, []).append(order)
                self.lines_of[order] = op.lines
            if op.kind == "payment":
                self.payments.append(track.answers[0].record_id)


def _killer(
    stop: threading.Event, server_url: str, database: str, config: Config, kills: list[int]
) -> None:
    """Terminate a random busy backend of the app role now and then (as a superuser)."""
    rng = random.Random(f"{config.seed}:killer")
    with psycopg.connect(server_url, autocommit=True) as conn:
        while not stop.wait(rng.uniform(0, 2 * config.kill_every)):
            pids = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND usename = %s"
                    " AND backend_type = 'client backend'"
                    " AND state IN ('active', 'idle in transaction') ORDER BY pid",
                    (database, app_login(database)),
                )
            ]
            if pids:
                pid = pids[int(rng.random() * len(pids))]
                killed = conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
                kills[0] += bool(killed and killed[0])


# --- the run and the final checks ----------------------------------------------------------


def run(
    server_url: str,
    urls: DatabaseUrls,
    config: Config,
    progress: Callable[[str], None] | None = None,
) -> Result:
    """Run the simulation on a migrated database with no business called 'simulation'.
    `server_url` is a superuser's on the same server (the killer's connection)."""
    rng = random.Random(f"{config.seed}:shop")
    shop = make_shop(urls.admin, rng, config.customers, config.products)
    database = app_database(urls.app, 2 * config.threads + 2)
    try:
        till = Till(database, shop)
        share, extra = divmod(config.operations, config.threads)
        workers = [
            Worker(i, till, shop, config, share + (i < extra)) for i in range(config.threads)
        ]
        stop, kills = threading.Event(), [0]
        dbname = str(psycopg.conninfo.conninfo_to_dict(urls.admin)["dbname"])
        killer = threading.Thread(
            target=_killer, args=(stop, server_url, dbname, config, kills), daemon=True
        )
        started = time.perf_counter()
        if config.kill_every > 0:
            killer.start()
        with ThreadPoolExecutor(max_workers=config.threads) as pool:
            futures = [pool.submit(worker.run) for worker in workers]
            errors = [future.exception() for future in futures]
        elapsed = time.perf_counter() - started
        stop.set()
        if killer.is_alive():
            killer.join()
        if progress:
            progress(f"workload done in {elapsed:.1f} s; checking")

        stats = Stats()
        tracks: dict[uuid.UUID, Track] = {}
        for worker in workers:
            stats.merge(worker.stats)
            tracks.update(worker.tracks)
        failures = list(stats.failures)
        failures += [
            f"seed={config.seed}: a worker died: {type(e).__name__}: {e}" for e in errors if e
        ]
        checks, found = check(urls.admin, shop, tracks)
        failures += [f"seed={config.seed}: {failure}" for failure in found]
        return Result(config, elapsed, stats, kills[0], checks, failures)
    finally:
        database.dispose()
        drop_side_tables(urls.admin)


def check(
    admin_url: str, shop: Shop, tracks: dict[uuid.UUID, Track]
) -> tuple[dict[str, int], list[str]]:
    """The final checks, as the owner. Returns what was looked at and what is wrong."""
    failures: list[str] = []
    counts = Counter[str]()
    engine = create_engine(sqlalchemy_url(admin_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            violations = find_violations(conn)
    finally:
        engine.dispose()
    counts["check-ledger violations"] = len(violations)
    failures += [f"check-ledger: {v}" for v in violations]

    business = shop.business_id
    with psycopg.connect(admin_url) as conn:

        def rows(sql: str) -> list[tuple]:
            return conn.execute(sql, {"b": business}).fetchall()

        below_zero = rows("SELECT id, stock FROM products WHERE business_id = %(b)s AND stock < 0")
        counts["products below zero"] = len(below_zero)
        failures += [f"product {p} has stock {s}" for p, s in below_zero]
        counts["sales checked against the limit and prices in force"] = rows(
            "SELECT count(*) FROM orders WHERE business_id = %(b)s"
        )[0][0]
        # Every sale within the limit in force at its moment (see the module's docstring).
        failures += [
            f"sale {o} took the balance to {after}, above the limit {limit} in force"
            for o, after, limit in rows(
                """SELECT o.id, o.balance_after, l.credit_limit
                     FROM orders o
                     JOIN simulation_sale_clock s ON s.idempotency_key = o.idempotency_key
                     LEFT JOIN LATERAL (SELECT credit_limit FROM simulation_limits l
                                         WHERE l.customer_id = o.customer_id AND l.tick < s.tick
                                         ORDER BY l.tick DESC LIMIT 1) l ON true
                    WHERE o.business_id = %(b)s AND o.override_reason IS NULL
                      AND (o.balance_after > l.credit_limit) IS NOT FALSE"""
            )
        ]
        failures += [
            f"sale {o} ({key}) has no clock value: it committed outside its own transaction"
            for o, key in rows(
                """SELECT o.id, o.idempotency_key FROM orders o
                    WHERE o.business_id = %(b)s
                      AND NOT EXISTS (SELECT FROM simulation_sale_clock s
                                       WHERE s.idempotency_key = o.idempotency_key)"""
            )
        ]
        # Every line at the price in force at the sale's moment; totals add up.
        failures += [
            f"sale {o} sold {p} at {unit}, the price in force was {price}"
            for o, p, unit, price in rows(
                """SELECT o.id, i.product_id, i.unit_price, pr.price
                     FROM orders o
                     JOIN order_items i ON i.business_id = o.business_id AND i.order_id = o.id
                     JOIN simulation_sale_clock s ON s.idempotency_key = o.idempotency_key
                     LEFT JOIN LATERAL (SELECT price FROM simulation_prices pr
                                         WHERE pr.product_id = i.product_id AND pr.tick < s.tick
                                         ORDER BY pr.tick DESC LIMIT 1) pr ON true
                    WHERE o.business_id = %(b)s AND i.unit_price IS DISTINCT FROM pr.price"""
            )
        ]
        failures += [
            f"sale {o} has total {total}, its lines add up to {lines}"
            for o, total, lines in rows(
                """SELECT o.id, o.total, sum(i.quantity * i.unit_price)
                     FROM orders o
                     LEFT JOIN order_items i ON i.business_id = o.business_id
                                            AND i.order_id = o.id
                    WHERE o.business_id = %(b)s
                    GROUP BY o.business_id, o.id
                   HAVING o.total IS DISTINCT FROM sum(i.quantity * i.unit_price)"""
            )
        ]

        # Exactly once, as answered; nothing else.
        recorded = {
            "sale": rows(
                """SELECT o.idempotency_key, o.id, o.customer_id, o.total,
                          coalesce(jsonb_object_agg(i.product_id, i.quantity), '{}')
                     FROM orders o
                     JOIN order_items i ON i.business_id = o.business_id AND i.order_id = o.id
                    WHERE o.business_id = %(b)s
                    GROUP BY o.business_id, o.id"""
            ),
            "payment": rows(
                "SELECT idempotency_key, id, customer_id, amount, method FROM payments"
                " WHERE business_id = %(b)s"
            ),
            "stock": rows(
                "SELECT idempotency_key, id, product_id, change, reason FROM stock_movements"
                " WHERE business_id = %(b)s AND idempotency_key IS NOT NULL"
            ),
            "return": rows(
                "SELECT idempotency_key, id, order_id, is_void FROM returns"
                " WHERE business_id = %(b)s"
            ),
            "reversal": rows(
                "SELECT idempotency_key, payment_id, payment_id FROM payment_reversals"
                " WHERE business_id = %(b)s"
            ),
        }
    by_key: dict[uuid.UUID, list[tuple]] = {}
    for kind, found in recorded.items():
        for row in found:
            by_key.setdefault(row[0], []).append((kind, *row[1:]))

    for key, track in tracks.items():
        op, records = track.op, by_key.pop(key, [])
        created = sum(answer.created for answer in track.answers)
        ids = {answer.record_id for answer in track.answers}
        if created > 1:
            failures.append(f"{op.kind} {key} was answered 'recorded' {created} times")
        if len(ids) > 1:
            failures.append(f"{op.kind} {key} was answered with different records {ids}")
        if track.unknown and not track.answers and not track.refusals:
            continue  # never learnt; already a failure
        if not track.answers:
            counts["refused, not recorded"] += 1
            if records:
                failures.append(f"{op.kind} {key} was refused {track.refusals} yet recorded")
            continue
        answered = next(iter(ids))
        counts[f"{op.kind} acknowledged, recorded once"] += 1
        if len(records) != 1:
            failures.append(f"{op.kind} {key} acknowledged, recorded {len(records)} times")
            continue
        failures += _differences(track, answered, records[0])
    failures += [
        f"{rows[0][0]} {key} recorded {len(rows)} time(s) without ever being acknowledged"
        for key, rows in by_key.items()
    ]
    order = [name for name in counts if not name.endswith("recorded once")]
    order[3:3] = [f"{kind} acknowledged, recorded once" for kind in KINDS if kind in LEDGER_KINDS]
    return {name: counts[name] for name in order}, failures


def _differences(track: Track, answered: uuid.UUID, record: tuple) -> list[str]:
    op = track.op
    kind, record_id, owner, *rest = record
    expected_kind = {"override": "sale", "void": "return"}.get(op.kind, op.kind)
    if op.kind in STOCK_KINDS:
        expected_kind = "stock"
    what = f"{op.kind} {op.key}"
    if kind != expected_kind:
        return [f"{what} was recorded as a {kind}"]
    problems = []
    if record_id != answered:
        problems.append(f"{what} answered {answered}, recorded as {record_id}")
    wanted_owner = {"stock": op.product, "return": op.order, "reversal": op.payment}.get(
        kind, op.customer
    )
    if owner != wanted_owner:
        problems.append(f"{what} recorded for {owner}")
    if kind == "return":
        (is_void,) = rest
        if is_void != (op.kind == "void"):
            problems.append(f"{what} recorded with void={is_void}")
    elif kind == "reversal":
        pass  # the reversed payment, checked above
    elif kind == "sale":
        total, items = rest
        wanted = {str(product): qty for product, qty in op.lines}
        if items != wanted:
            problems.append(f"{what} recorded items {items}, sold {wanted}")
        if total != track.answers[0].total:
            problems.append(f"{what} recorded total {total}, answered {track.answers[0].total}")
    elif kind == "payment":
        amount, method = rest
        if (amount, method) != (op.amount, op.method):
            problems.append(f"{what} recorded {amount} {method}, paid {op.amount} {op.method}")
    else:
        change, reason = rest
        if reason != op.kind or (op.change is not None and change != op.change):
            problems.append(f"{what} recorded {reason} {change}, sent {op.kind} {op.change}")
    return problems
