"""Benchmark of process_purchase against pgbench on the same PostgreSQL server, in one run.

    .venv/bin/python bench/purchase.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                       [--seconds 10]

The server URL must be a superuser's: the run makes its own databases (shopcredit_bench,
shopcredit_pgbench), the ShopCredit roles, and drops nothing it did not make. It reports:

1. sales per second of process_purchase (2-item sales, distinct customers and products) at 1, 4,
   8 and 16 connections, beside pgbench's TPC-B-like script (scale 16) at the same client counts;
2. one hot product bought by 16 connections at once, against the same work from 1 connection;
3. median latency of a sale for a customer with 100,000 earlier sales, against one with none.

Each client is its own process with its own connection as the app role. A sale is one
transaction: bind the tenant, call process_purchase, commit, sent in one pipeline.
"""

from __future__ import annotations

import argparse
import json
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
                                   idempotency_key, balance_after, created_at)
               SELECT %(b)s, %(c)s, 1.00, current_date - 30 + (g %% 60), %(u)s,
                      gen_random_uuid(), g, now() - g * interval '1 minute'
                 FROM generate_series(1, %(n)s) g""",
            {"b": business, "c": busy, "u": user, "n": HISTORY},
        )
        conn.execute("UPDATE customers SET balance = %s WHERE id = %s", (HISTORY, busy))
        conn.execute("SELECT rebuild_due_summaries(%s)", (business,))
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
    )


def sell(conn: psycopg.Connection, shop: Shop, customer: uuid.UUID, items: str) -> None:
    """One sale, one round trip: BEGIN, bind the tenant, the call, COMMIT."""
    with conn.pipeline():
        conn.execute("SELECT set_config('app.business_id', %s, true)", (str(shop.business_id),))
        conn.execute(
            "SELECT order_id FROM process_purchase(%s, %s, %s::jsonb, %s, %s)",
            (shop.business_id, customer, items, uuid.uuid4(), shop.user_id),
        )
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
    gen_random_uuid(), :user);
END;
"""
HOT_SCRIPT = """\\set c :client_id * {customers} + random(0, {customers} - 1)
BEGIN;
SELECT set_config('app.business_id', :business, true);
SELECT order_id FROM process_purchase(
    :business,
    (SELECT id FROM bench_customers WHERE n = :c),
    jsonb_build_array(jsonb_build_object('product_id', CAST(:hot AS text), 'quantity', 1)),
    gen_random_uuid(), :user);
END;
"""


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


def median_latency_ms(app_url: str, shop: Shop, customer: uuid.UUID, samples: int) -> float:
    items = json.dumps([{"product_id": str(shop.products[0][0]), "quantity": 1}])
    timings = []
    with psycopg.connect(app_url) as conn:
        for _ in range(samples):
            started = time.perf_counter()
            sell(conn, shop, customer, items)
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def checkpoint(server: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    server, seconds = args.server, args.seconds
    superuser = str(psycopg.conninfo.conninfo_to_dict(server).get("user") or "postgres")

    recreate_database(server, "shopcredit_bench")
    urls = embedded.create_roles_and_database(server, "shopcredit_bench")
    migrate.upgrade(urls.admin)
    shop = seed(urls.admin)
    defines = {"business": shop.business_id, "user": shop.user_id, "hot": shop.hot_product}
    sale = SALE_SCRIPT.format(customers=CUSTOMERS_PER_CLIENT, products=PRODUCTS_PER_CLIENT)
    hot = HOT_SCRIPT.format(customers=CUSTOMERS_PER_CLIENT)

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
    fresh = median_latency_ms(urls.app, shop, shop.new_customer, LATENCY_SAMPLES)
    busy = median_latency_ms(urls.app, shop, shop.busy_customer, LATENCY_SAMPLES)
    print("| customer | median ms |\n| --- | ---: |")
    print(f"| no earlier sales | {fresh:.3f} |\n| {HISTORY:,} earlier sales | {busy:.3f} |")

    print("\nTargets")
    print(f"- throughput at 8 connections: {ratios[8]:.2f}× pgbench (target ≥ 1.0×)")
    print(f"- hot product, 16 vs 1 connection: {many / single:.2f}× (target ≥ 0.8×)")
    print(f"- latency, 100,000 earlier sales vs none: {busy / fresh:.2f} (target ≤ 1.2)")


if __name__ == "__main__":
    main()
