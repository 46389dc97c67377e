"""Benchmark of process_purchase against pgbench on the same PostgreSQL server, in one run.

    .venv/bin/python bench/purchase.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                       [--seconds 10]

The server URL must be a superuser's: the run makes its own databases (shopcredit_bench,
shopcredit_pgbench), the ShopCredit roles, and drops nothing it did not make. It reports:

1. sales per second of process_purchase (2-item sales, distinct customers and products) at 1, 4,
   8 and 16 connections, beside pgbench's TPC-B-like script (scale 16) at the same client counts;
2. one hot product bought by 16 connections at once, against the same work from 1 connection;
3. median latency of a sale for a customer with 100,000 earlier sales, against one with none,
   and the server CPU time of one sale (the backend's, when the server runs on this machine);
4. what one sale writes, machine-independent: WAL records and bytes, full-page images, shared
   buffers touched and dirtied (EXPLAIN (ANALYZE, BUFFERS, WAL) of the call, one connection);
5. the shop's numbering: 8 tills in one shop with the sale counter, against the same with
   numbers from a sequence (no counter row, no lock: what numbering costs), and against 8 tills
   in 8 shops (each shop's counter its own);
6. what keeping the reports' rollups costs a sale (migration 0022): 8 tills in one shop and 16
   connections, median latency, server CPU and WAL per sale, with process_purchase as it is and
   with its rollup writes taken out, in the same run (`--only rollups` runs just this part).

Each client is its own process with its own connection as the app role. A sale is one
transaction: bind the tenant, call process_purchase as the app does (all nine arguments),
commit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import embedded, migrate

CLIENT_COUNTS = (1, 4, 8, 16)
CUSTOMERS_PER_CLIENT = 50
PRODUCTS_PER_CLIENT = 20
HISTORY = 100_000
LATENCY_SAMPLES = 2_000


@dataclass(frozen=True)
class Shop:
    business_id: uuid.UUID
    user_id: uuid.UUID
    customers: list[list[uuid.UUID]]  # per client
    products: list[list[uuid.UUID]]  # per client
    hot_product: uuid.UUID
    busy_customer: uuid.UUID  # the one with 100,000 earlier sales
    new_customer: uuid.UUID
    tills: int  # shops of their own for the 8-shops measurement, one per till


def recreate_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def seed(admin_url: str) -> Shop:
    clients = max(CLIENT_COUNTS)
    with psycopg.connect(admin_url) as conn:
        business = conn.execute(
            "INSERT INTO businesses (slug, name) VALUES ('bench', 'Bench') RETURNING id"
        ).fetchone()[0]
        user = conn.execute(
            "INSERT INTO users (business_id, email, name, password_hash, role)"
            " VALUES (%s, 'bench@example.com', 'Bench', 'x', 'clerk') RETURNING id",
            (business,),
        ).fetchone()[0]

        def make(table: str, count: int) -> list[uuid.UUID]:
            if table == "customers":
                query = (
                    "INSERT INTO customers (business_id, name, credit_limit)"
                    " SELECT %s, 'Customer ' || g, 9999999999 FROM generate_series(1, %s) g"
                    " RETURNING id"
                )
            else:
                query = (
                    "INSERT INTO products (business_id, name, price, stock)"
                    " SELECT %s, 'Product ' || g, 0.01, 2000000000 FROM generate_series(1, %s) g"
                    " RETURNING id"
                )
            return [row[0] for row in conn.execute(query, (business, count)).fetchall()]

        customers = make("customers", clients * CUSTOMERS_PER_CLIENT + 2)
        products = make("products", clients * PRODUCTS_PER_CLIENT + 1)
        busy, new = customers[-2:]
        # The rest of a real shop's lists, so that plans are those of a real catalog.
        conn.execute(
            "INSERT INTO customers (business_id, name, credit_limit)"
            " SELECT %s, 'Other customer ' || g, 100 FROM generate_series(1, 5000) g",
            (business,),
        )
        conn.execute(
            "INSERT INTO products (business_id, name, price, stock)"
            " SELECT %s, 'Other product ' || g, 1, 100 FROM generate_series(1, 5000) g",
            (business,),
        )
        # pgbench picks rows by number: customer n and product n of the lists above.
        for table, ids in (("bench_customers", customers), ("bench_products", products)):
            conn.execute(f"CREATE TABLE {table} (n integer PRIMARY KEY, id uuid NOT NULL)")
            with conn.cursor().copy(f"COPY {table} (n, id) FROM STDIN") as copy:
                for n, row_id in enumerate(ids):
                    copy.write_row((n, row_id))
            conn.execute(f"GRANT SELECT ON {table} TO shopcredit_app")
        # 100,000 earlier sales for one customer, written directly (their content is irrelevant;
        # their number is what a history-dependent sale would feel).
        conn.execute(
            """INSERT INTO orders (business_id, customer_id, total, due_on, created_by,
                                   idempotency_key, balance_after, created_at, number)
               SELECT %(b)s, %(c)s, 1.00, current_date - 30 + (g %% 60), %(u)s,
                      gen_random_uuid(), g, now() - g * interval '1 minute', %(n)s + 1 - g
                 FROM generate_series(1, %(n)s) g""",
            {"b": business, "c": busy, "u": user, "n": HISTORY},
        )
        conn.execute(
            "INSERT INTO document_counters (business_id, kind, last_number)"
            " VALUES (%s, 'sale', %s)",
            (business, HISTORY),
        )
        conn.execute("UPDATE customers SET balance = %s WHERE id = %s", (HISTORY, busy))
        conn.execute("SELECT rebuild_due_summaries(%s)", (business,))
        seed_tills(conn, business, user, customers, products)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return Shop(
        business_id=business,
        user_id=user,
        customers=[
            customers[i * CUSTOMERS_PER_CLIENT : (i + 1) * CUSTOMERS_PER_CLIENT]
            for i in range(clients)
        ],
        products=[
            products[i * PRODUCTS_PER_CLIENT : (i + 1) * PRODUCTS_PER_CLIENT]
            for i in range(clients)
        ],
        hot_product=products[-1],
        busy_customer=busy,
        new_customer=new,
        tills=TILLS,
    )


TILLS = 8


def seed_tills(
    conn: psycopg.Connection,
    business: uuid.UUID,
    user: uuid.UUID,
    customers: list[uuid.UUID],
    products: list[uuid.UUID],
) -> None:
    """Lookup tables for the tills measurement: till n's shop, clerk, customers and products.

    `bench_tills_one`: every till in the bench shop, with the customers and products of client
    n of the throughput measurement. `bench_tills_eight`: till n alone in a shop of its own,
    with as many customers and products (all shops share the tables, so the indexes are the
    same size in both)."""
    for name in ("bench_tills_one", "bench_tills_eight"):
        conn.execute(
            f"CREATE TABLE {name} (n integer PRIMARY KEY, business uuid NOT NULL,"
            " user_id uuid NOT NULL)"
        )
        for kind in ("customers", "products"):
            conn.execute(f"CREATE TABLE {name}_{kind} (n integer PRIMARY KEY, id uuid NOT NULL)")
    for n in range(TILLS):
        conn.execute("INSERT INTO bench_tills_one VALUES (%s, %s, %s)", (n, business, user))
        shop = conn.execute(
            "INSERT INTO businesses (slug, name) VALUES (%s, %s) RETURNING id",
            (f"bench-till-{n}", f"Till shop {n}"),
        ).fetchone()[0]
        clerk = conn.execute(
            "INSERT INTO users (business_id, email, name, password_hash, role)"
            " VALUES (%s, 'till@example.com', 'Till', 'x', 'clerk') RETURNING id",
            (shop,),
        ).fetchone()[0]
        conn.execute("INSERT INTO bench_tills_eight VALUES (%s, %s, %s)", (n, shop, clerk))
        own = {
            "customers": conn.execute(
                "INSERT INTO customers (business_id, name, credit_limit)"
                " SELECT %s, 'Customer ' || g, 9999999999 FROM generate_series(1, %s) g"
                " RETURNING id",
                (shop, CUSTOMERS_PER_CLIENT),
            ).fetchall(),
            "products": conn.execute(
                "INSERT INTO products (business_id, name, price, stock)"
                " SELECT %s, 'Product ' || g, 0.01, 2000000000 FROM generate_series(1, %s) g"
                " RETURNING id",
                (shop, PRODUCTS_PER_CLIENT),
            ).fetchall(),
        }
        for kind, per_client, ids in (
            ("customers", CUSTOMERS_PER_CLIENT, customers),
            ("products", PRODUCTS_PER_CLIENT, products),
        ):
            for i in range(per_client):
                conn.execute(
                    f"INSERT INTO bench_tills_one_{kind} VALUES (%s, %s)",
                    (n * per_client + i, ids[n * per_client + i]),
                )
                conn.execute(
                    f"INSERT INTO bench_tills_eight_{kind} VALUES (%s, %s)",
                    (n * per_client + i, own[kind][i][0]),
                )
    for name in ("bench_tills_one", "bench_tills_eight"):
        for table in (name, f"{name}_customers", f"{name}_products"):
            conn.execute(f"GRANT SELECT ON {table} TO shopcredit_app")


def sell(conn: psycopg.Connection, shop: Shop, customer: uuid.UUID, items: str) -> None:
    """One sale as the app commits it (webapp/ledger.py), in one pipeline: BEGIN, bind the
    tenant, the call, COMMIT without waiting for the flush; then the flushing statement."""
    with conn.pipeline():
        conn.execute("SELECT set_config('app.business_id', %s, true)", (str(shop.business_id),))
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute(
            "SELECT order_id FROM process_purchase(%s, %s, %s::jsonb, %s, %s,"
            " NULL, NULL, NULL, NULL)",
            (shop.business_id, customer, items, uuid.uuid4(), shop.user_id),
        )
        conn.commit()
        conn.execute("SELECT pg_logical_emit_message(true, 'shopcredit', 'ledger')")
        conn.commit()


# Each pgbench client sells to its own customers and its own products (client_id picks them
# out of numbered lookup tables), or, in the hot variant, everyone buys the same product.
SALE_SCRIPT = """\\set c :client_id * {customers} + random(0, {customers} - 1)
\\set p1 :client_id * {products} + random(0, {products} / 2 - 1) * 2
\\set p2 :p1 + 1
BEGIN;
SELECT set_config('app.business_id', :business, true);
SELECT order_id FROM process_purchase(
    :business,
    (SELECT id FROM bench_customers WHERE n = :c),
    jsonb_build_array(
        jsonb_build_object('product_id', (SELECT id FROM bench_products WHERE n = :p1),
                           'quantity', 1),
        jsonb_build_object('product_id', (SELECT id FROM bench_products WHERE n = :p2),
                           'quantity', 2)),
    gen_random_uuid(), :user, NULL, NULL, NULL, NULL);
END;
"""
HOT_SCRIPT = """\\set c :client_id * {customers} + random(0, {customers} - 1)
BEGIN;
SELECT set_config('app.business_id', :business, true);
SELECT order_id FROM process_purchase(
    :business,
    (SELECT id FROM bench_customers WHERE n = :c),
    jsonb_build_array(jsonb_build_object('product_id', CAST(:hot AS text), 'quantity', 1)),
    gen_random_uuid(), :user, NULL, NULL, NULL, NULL);
END;
"""
# Till n sells in the shop its lookup table names (bench_tills_one: all in one shop;
# bench_tills_eight: each in its own), to its own customers and products.
TILLS_SCRIPT = """\\set c :client_id * {customers} + random(0, {customers} - 1)
\\set p1 :client_id * {products} + random(0, {products} / 2 - 1) * 2
\\set p2 :p1 + 1
BEGIN;
SELECT set_config('app.business_id', (SELECT business::text FROM {tills} WHERE n = :client_id),
                  true);
SELECT order_id FROM process_purchase(
    (SELECT business FROM {tills} WHERE n = :client_id),
    (SELECT id FROM {tills}_customers WHERE n = :c),
    jsonb_build_array(
        jsonb_build_object('product_id', (SELECT id FROM {tills}_products WHERE n = :p1),
                           'quantity', 1),
        jsonb_build_object('product_id', (SELECT id FROM {tills}_products WHERE n = :p2),
                           'quantity', 2)),
    gen_random_uuid(), (SELECT user_id FROM {tills} WHERE n = :client_id), NULL, NULL, NULL,
    NULL);
END;
"""


# As the app commits a ledger call (webapp/ledger.py): the sale commits without waiting for its
# WAL to reach the disk (so its row locks, the counter's among them, go at once), then a statement
# that writes WAL commits as usual, which flushes the WAL up to and past the sale's commit: when it
# returns, the sale is as durable as a synchronous commit would have made it. The scripts above
# are how a sale committed before (the commit waited for its own flush, locks held through it).
def as_the_app_commits(script: str) -> str:
    script = script.replace("BEGIN;\n", "BEGIN;\nSET LOCAL synchronous_commit = off;\n", 1)
    return script + "SELECT pg_logical_emit_message(true, 'shopcredit', 'ledger');\n"


# Numbers from a sequence instead of the shop's counter row: no row to lock, so nothing for one
# shop's tills to queue on (and not gapless: for the comparison only, put back after it).
UNNUMBERED = """
CREATE SEQUENCE IF NOT EXISTS bench_numbers START 1000000000000;
CREATE OR REPLACE FUNCTION next_number(p_business_id uuid, p_kind text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN nextval('public.bench_numbers');
END
$$;
"""
NEXT_NUMBER_SQL = Path(__file__).resolve().parent.parent / "webapp/sql/functions/next_number.sql"


def pgbench(
    url: str,
    clients: int,
    seconds: float,
    script: str | None = None,
    defines: dict[str, object] | None = None,
) -> float:
    """Transactions per second from pgbench (prepared statements, as psycopg uses too)."""
    args = [*pgbench_command(url), "-c", str(clients), "-j", str(clients)]
    args += ["-T", str(int(seconds)), "-M", "prepared", "-n"]
    for name, value in (defines or {}).items():
        args += ["-D", f"{name}={value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".pgbench") as file:
        if script is not None:
            file.write(script)
            file.flush()
            args += ["-f", file.name]
        args.append(database_name(url))
        result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    if result.returncode != 0 or match is None or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench failed:\n{result.stdout}\n{result.stderr}")
    return float(match.group(1))


def pgbench_command(url: str) -> list[str]:
    info = psycopg.conninfo.conninfo_to_dict(url)
    host, port = str(info.get("host") or "127.0.0.1"), str(info.get("port") or 5432)
    user = str(info.get("user") or "postgres")
    return [shutil.which("pgbench") or "pgbench", "-h", host, "-p", port, "-U", user]


def database_name(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


def pgbench_init(url: str, scale: int) -> None:
    args = [*pgbench_command(url), "-i", "-q", "-s", str(scale), database_name(url)]
    subprocess.run(args, capture_output=True, check=True)  # noqa: S603


def median_latency_ms(
    app_url: str, shop: Shop, customer: uuid.UUID, samples: int
) -> tuple[float, float | None]:
    """The median ms of a sale, and the server's CPU ms per sale (the backend's user + system
    time, read from /proc when the server runs on this machine; else None)."""
    items = json.dumps([{"product_id": str(shop.products[0][0]), "quantity": 1}])
    timings = []
    with psycopg.connect(app_url) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        conn.commit()
        cpu_before = backend_cpu_seconds(backend)
        for _ in range(samples):
            started = time.perf_counter()
            sell(conn, shop, customer, items)
            timings.append((time.perf_counter() - started) * 1000)
        cpu_after = backend_cpu_seconds(backend)
    cpu = None
    if cpu_before is not None and cpu_after is not None:
        cpu = (cpu_after - cpu_before) * 1000 / samples
    return statistics.median(timings), cpu


def backend_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a server process on this machine, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


WRITE_SAMPLES = 1_000


def write_costs(server: str, app_url: str, shop: Shop, samples: int) -> dict[str, float]:
    """Per 2-item sale: WAL records, bytes and full-page images, shared buffers touched and
    dirtied, from EXPLAIN (ANALYZE, BUFFERS, WAL) of the call (everything the function runs,
    its foreign-key checks included; not the commit record). Client 0's customers and products,
    one connection, after a CHECKPOINT and as many sales again to warm up (so that the pages
    they touch have had their full-page image; those left are of pages not touched before)."""
    checkpoint(server)
    keys = (
        "WAL Records",
        "WAL Bytes",
        "WAL FPI",
        "Shared Hit Blocks",
        "Shared Read Blocks",
        "Shared Dirtied Blocks",
    )
    totals = dict.fromkeys(keys, 0.0)
    customers, products = shop.customers[0], shop.products[0]
    with psycopg.connect(app_url) as conn:
        for n in range(2 * samples):
            items = json.dumps(
                [
                    {"product_id": str(products[(2 * n) % len(products)]), "quantity": 1},
                    {"product_id": str(products[(2 * n + 1) % len(products)]), "quantity": 2},
                ]
            )
            conn.execute("SELECT set_config('app.business_id', %s, true)", (str(shop.business_id),))
            plan = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS, WAL, TIMING OFF, FORMAT JSON)"
                " SELECT order_id FROM process_purchase(%s, %s, %s::jsonb, %s, %s,"
                " NULL, NULL, NULL, NULL)",
                (
                    shop.business_id,
                    customers[n % len(customers)],
                    items,
                    uuid.uuid4(),
                    shop.user_id,
                ),
            ).fetchone()[0][0]["Plan"]
            conn.commit()
            if n >= samples:
                for key in keys:
                    totals[key] += plan[key]
    per_sale = {key: value / samples for key, value in totals.items()}
    return {
        "WAL records": per_sale["WAL Records"],
        "WAL bytes": per_sale["WAL Bytes"],
        "WAL full-page images": per_sale["WAL FPI"],
        "shared buffers touched": per_sale["Shared Hit Blocks"] + per_sale["Shared Read Blocks"],
        "shared buffers dirtied": per_sale["Shared Dirtied Blocks"],
    }


PROCESS_PURCHASE_SQL = (
    Path(__file__).resolve().parent.parent / "webapp/sql/functions/process_purchase.sql"
)
# The block of process_purchase that writes the reports' rollups, from its comment to its last
# call: taken out, the function is what it was before migration 0022.
ROLLUP_WRITES = re.compile(
    r"    -- 6\. The reports' rollups.*?PERFORM public\.report_owed\([^;]*\);\n", re.DOTALL
)


def without_rollups() -> str:
    text, found = ROLLUP_WRITES.subn("", PROCESS_PURCHASE_SQL.read_text())
    if found != 1:
        raise RuntimeError("process_purchase.sql no longer has its rollup block where expected")
    return text


def rollup_costs(server: str, urls: embedded.DatabaseUrls, shop: Shop, seconds: float) -> None:
    """Section 6: each measurement with the rollups kept, then without, then as it is again."""
    one_shop = as_the_app_commits(
        TILLS_SCRIPT.format(
            customers=CUSTOMERS_PER_CLIENT, products=PRODUCTS_PER_CLIENT, tills="bench_tills_one"
        )
    )
    sale = as_the_app_commits(
        SALE_SCRIPT.format(customers=CUSTOMERS_PER_CLIENT, products=PRODUCTS_PER_CLIENT)
    )
    defines = {"business": shop.business_id, "user": shop.user_id, "hot": shop.hot_product}

    def measure() -> dict[str, float]:
        found: dict[str, float] = {}
        checkpoint(server)
        found["8 tills in one shop, sales/s"] = pgbench(urls.app, TILLS, seconds, one_shop)
        checkpoint(server)
        found["16 connections, sales/s"] = pgbench(urls.app, 16, seconds, sale, defines)
        checkpoint(server)
        ms, cpu = median_latency_ms(urls.app, shop, shop.new_customer, LATENCY_SAMPLES)
        found["median ms of a sale"] = ms
        if cpu is not None:
            found["server CPU ms per sale"] = cpu
        writes = write_costs(server, urls.app, shop, WRITE_SAMPLES)
        found["WAL bytes per sale"] = writes["WAL bytes"]
        found["WAL records per sale"] = writes["WAL records"]
        found["shared buffers dirtied per sale"] = writes["shared buffers dirtied"]
        return found

    # Taken in turns (kept, without, kept, without) and averaged, so that other work on the
    # machine weighs on both alike.
    rounds: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    try:
        for _ in range(2):
            for keeping in (True, False):
                with psycopg.connect(urls.admin, autocommit=True) as conn:
                    conn.execute(PROCESS_PURCHASE_SQL.read_text() if keeping else without_rollups())
                rounds[keeping].append(measure())
    finally:
        with psycopg.connect(urls.admin, autocommit=True) as conn:
            conn.execute(PROCESS_PURCHASE_SQL.read_text())
    kept, bare = (
        {label: statistics.mean(r[label] for r in rounds[keeping]) for label in rounds[True][0]}
        for keeping in (True, False)
    )
    print("| per sale | rollups kept | without | kept ÷ without |\n| --- | ---: | ---: | ---: |")
    for label, value in kept.items():
        other = bare[label]
        print(f"| {label} | {value:,.3f} | {other:,.3f} | {value / other:.2f}× |")


COMMIT_ROUNDS = 3


def commit_costs(server: str, urls: embedded.DatabaseUrls, seconds: float) -> None:
    """Section 7: 8 tills in one shop and in 8 shops, each sale committed as the app does
    (locks released before the flush) and waiting for its own flush, in turns, COMMIT_ROUNDS
    times, so that the machine's other work weighs on both alike."""
    scripts = {
        where: TILLS_SCRIPT.format(
            customers=CUSTOMERS_PER_CLIENT, products=PRODUCTS_PER_CLIENT, tills=tills
        )
        for where, tills in (("one shop", "bench_tills_one"), ("8 shops", "bench_tills_eight"))
    }
    rates: dict[tuple[str, str], list[float]] = {}
    for _ in range(COMMIT_ROUNDS):
        for where, script in scripts.items():
            for how, variant in (("waited", script), ("released", as_the_app_commits(script))):
                checkpoint(server)
                rates.setdefault((where, how), []).append(
                    pgbench(urls.app, TILLS, seconds, variant)
                )
    print("| 8 tills | commit waits for its flush | locks released before it | ÷ |")
    print("| --- | ---: | ---: | ---: |")
    for where in scripts:
        waited, released = (statistics.mean(rates[(where, how)]) for how in ("waited", "released"))
        runs = ", ".join(
            f"{w:,.0f}/{r:,.0f}"
            for w, r in zip(rates[(where, "waited")], rates[(where, "released")], strict=True)
        )
        print(
            f"| in {where} ({runs}) | {waited:,.0f} | {released:,.0f} | {released / waited:.2f}× |"
        )


def checkpoint(server: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=("all", "rollups", "commit"), default="all")
    args = parser.parse_args()
    server, seconds = args.server, args.seconds
    superuser = str(psycopg.conninfo.conninfo_to_dict(server).get("user") or "postgres")

    recreate_database(server, "shopcredit_bench")
    urls = embedded.create_roles_and_database(server, "shopcredit_bench")
    migrate.upgrade(urls.admin)
    shop = seed(urls.admin)
    defines = {"business": shop.business_id, "user": shop.user_id, "hot": shop.hot_product}
    sale = as_the_app_commits(
        SALE_SCRIPT.format(customers=CUSTOMERS_PER_CLIENT, products=PRODUCTS_PER_CLIENT)
    )
    hot = as_the_app_commits(HOT_SCRIPT.format(customers=CUSTOMERS_PER_CLIENT))

    if args.only == "rollups":
        with psycopg.connect(server) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        print(f"PostgreSQL {version}, {seconds:g} s per measurement, clients driven by pgbench\n")
        print("6. The reports' rollups: process_purchase with and without writing them\n")
        rollup_costs(server, urls, shop, seconds)
        return
    if args.only == "commit":
        print("7. How a sale commits: sales/s, in turns\n")
        commit_costs(server, urls, seconds)
        return

    recreate_database(server, "shopcredit_pgbench")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("CREATE DATABASE shopcredit_pgbench")
        version = conn.execute("SHOW server_version").fetchone()[0]
    tpcb_url = embedded.role_url(server, superuser, "shopcredit_pgbench")
    pgbench_init(tpcb_url, scale=16)

    print(f"PostgreSQL {version}, {seconds:g} s per measurement, clients driven by pgbench\n")
    print("1. Throughput, 2-item sales on distinct customers and products\n")
    print("| connections | process_purchase sales/s | pgbench TPC-B tps | ratio |")
    print("| ---: | ---: | ---: | ---: |")
    ratios = {}
    for clients in CLIENT_COUNTS:
        checkpoint(server)
        ours = pgbench(urls.app, clients, seconds, sale, defines)
        checkpoint(server)
        theirs = pgbench(tpcb_url, clients, seconds)
        ratios[clients] = ours / theirs
        print(f"| {clients} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f}× |")

    print("\n2. One hot product, bought by every connection\n")
    checkpoint(server)
    single = pgbench(urls.app, 1, seconds, hot, defines)
    checkpoint(server)
    many = pgbench(urls.app, 16, seconds, hot, defines)
    print("| connections | sales/s |\n| ---: | ---: |")
    print(f"| 1 | {single:,.0f} |\n| 16 | {many:,.0f} |")

    print("\n3. Median latency of one sale (one connection, psycopg, one round trip)\n")
    checkpoint(server)
    fresh, fresh_cpu = median_latency_ms(urls.app, shop, shop.new_customer, LATENCY_SAMPLES)
    busy, busy_cpu = median_latency_ms(urls.app, shop, shop.busy_customer, LATENCY_SAMPLES)
    print("| customer | median ms | server CPU ms per sale |\n| --- | ---: | ---: |")
    for label, ms, cpu in (
        ("no earlier sales", fresh, fresh_cpu),
        (f"{HISTORY:,} earlier sales", busy, busy_cpu),
    ):
        print(f"| {label} | {ms:.3f} | {'–' if cpu is None else f'{cpu:.3f}'} |")

    print(f"\n4. What one 2-item sale writes (mean of {WRITE_SAMPLES:,} sales, one connection)\n")
    print("| per sale | |\n| --- | ---: |")
    for label, value in write_costs(server, urls.app, shop, WRITE_SAMPLES).items():
        print(f"| {label} | {value:,.1f} |")

    print(f"\n5. Numbering: {TILLS} tills, each with its own customers and products\n")
    one_shop = TILLS_SCRIPT.format(
        customers=CUSTOMERS_PER_CLIENT, products=PRODUCTS_PER_CLIENT, tills="bench_tills_one"
    )
    eight_shops = TILLS_SCRIPT.format(
        customers=CUSTOMERS_PER_CLIENT, products=PRODUCTS_PER_CLIENT, tills="bench_tills_eight"
    )
    checkpoint(server)
    numbered = pgbench(urls.app, TILLS, seconds, as_the_app_commits(one_shop))
    checkpoint(server)
    apart = pgbench(urls.app, TILLS, seconds, as_the_app_commits(eight_shops))
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        conn.execute(UNNUMBERED)
    try:
        checkpoint(server)
        unnumbered = pgbench(urls.app, TILLS, seconds, as_the_app_commits(one_shop))
    finally:
        with psycopg.connect(urls.admin, autocommit=True) as conn:
            conn.execute(NEXT_NUMBER_SQL.read_text())
    checkpoint(server)
    waited = pgbench(urls.app, TILLS, seconds, one_shop)
    checkpoint(server)
    waited_apart = pgbench(urls.app, TILLS, seconds, eight_shops)
    checkpoint(server)
    tpcb = pgbench(tpcb_url, TILLS, seconds)
    print("| tills | sales/s | ÷ TPC-B |\n| --- | ---: | ---: |")
    for label, rate in (
        ("in one shop, numbered (one counter row)", numbered),
        ("in one shop, numbers from a sequence (no counter)", unnumbered),
        ("in 8 shops, numbered (a counter each)", apart),
        ("before: in one shop, each commit waiting for its own flush", waited),
        ("before: in 8 shops, each commit waiting for its own flush", waited_apart),
        ("pgbench TPC-B", tpcb),
    ):
        print(f"| {label} | {rate:,.0f} | {rate / tpcb:.2f}× |")

    print("\n6. The reports' rollups: process_purchase with and without writing them\n")
    rollup_costs(server, urls, shop, seconds)

    print("\nTargets")
    print(f"- throughput at 8 connections: {ratios[8]:.2f}× pgbench (issue 13: ≥ 0.5×)")
    print(
        f"- numbering: one shop numbered / unnumbered {numbered / unnumbered:.2f}×"
        " (issue 13: it must not lower the figure)"
    )
    print(f"- 8 tills in one shop / in 8 shops: {numbered / apart:.2f}× (issue 13: ≥ 0.7×)")
    print(f"  (before, each commit waiting for its own flush: {waited / waited_apart:.2f}×)")
    print(f"- hot product, 16 vs 1 connection: {many / single:.2f}× (target ≥ 0.8×)")
    print(f"- latency, 100,000 earlier sales vs none: {busy / fresh:.2f} (target ≤ 1.2)")


if __name__ == "__main__":
    main()
