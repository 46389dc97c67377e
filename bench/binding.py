"""What binding the tenant per transaction costs, the old way against the new, in one run.

    .venv/bin/python bench/binding.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                      [--pgbouncer postgresql://127.0.0.1:6432] [--transactions N]

The server URL must be a superuser's: the run makes the database shopcredit_bench_binding (one
business, 200 customers) and the ShopCredit roles. Each transaction, as the app role, binds the
business and reads its customers' count under row-level security, then commits:

- old: `SELECT set_config('app.business_id', $1, true)` with lock_timeout sent as a startup
  parameter (`options=-c lock_timeout=5s`, which PgBouncer refuses);
- new: `SET LOCAL app.business_id = '…'; SET LOCAL lock_timeout = '5s'` in one round trip (what
  webapp/db.py sends; Citus propagates SET LOCAL to its workers, not set_config).

Both without server-side prepared statements (prepare_threshold=None, as the app now runs).
Rounds alternate old/new to share the machine's noise; it reports the median wall and client-CPU
microseconds per transaction, directly and (with --pgbouncer) through PgBouncer (new only: the
old way cannot connect through it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import embedded, migrate
from webapp.db import binding

DATABASE = "shopcredit_bench_binding"
ROUNDS = 5
COUNT = "SELECT count(*) FROM customers"


def prepare(server: str) -> tuple[embedded.DatabaseUrls, uuid.UUID]:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    urls = embedded.create_roles_and_database(server, DATABASE)
    migrate.upgrade(urls.admin)
    with psycopg.connect(urls.admin) as conn:
        business = conn.execute(
            "INSERT INTO businesses (slug, name) VALUES ('bench', 'Bench') RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO customers (business_id, name) "
            "SELECT %s, 'Customer ' || n FROM generate_series(1, 200) n",
            (business,),
        )
    return urls, business


def old_way(url: str, business: uuid.UUID) -> Callable[[int], None]:
    conn = psycopg.connect(url, options="-c lock_timeout=5s", prepare_threshold=None)

    def run(transactions: int) -> None:
        for _ in range(transactions):
            conn.execute("SELECT set_config('app.business_id', %s, true)", (str(business),))
            conn.execute(COUNT).fetchone()
            conn.commit()

    return run


def new_way(url: str, business: uuid.UUID) -> Callable[[int], None]:
    conn = psycopg.connect(url, prepare_threshold=None)
    statement = binding(business)

    def run(transactions: int) -> None:
        for _ in range(transactions):
            conn.execute(statement)
            conn.execute(COUNT).fetchone()
            conn.commit()

    return run


def measure(run: Callable[[int], None], transactions: int) -> tuple[float, float]:
    """Microseconds per transaction: wall, client CPU."""
    wall, cpu = time.perf_counter(), time.process_time()
    run(transactions)
    return (
        (time.perf_counter() - wall) / transactions * 1e6,
        (time.process_time() - cpu) / transactions * 1e6,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pgbouncer", default=None)
    parser.add_argument("--transactions", type=int, default=3000)
    args = parser.parse_args()
    urls, business = prepare(args.server)
    ways: dict[str, Callable[[int], None]] = {
        "old (set_config, startup option), direct": old_way(urls.app, business),
        "new (SET LOCAL, one statement), direct": new_way(urls.app, business),
    }
    if args.pgbouncer:
        pooled = embedded.role_url(args.pgbouncer, embedded.app_login(DATABASE), DATABASE)
        ways["new, through PgBouncer (transaction mode)"] = new_way(pooled, business)
    for run in ways.values():
        run(200)  # warm up: connections, plans, caches
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, run in ways.items():
            results[name].append(measure(run, args.transactions))
    print(f"{args.transactions} transactions x {ROUNDS} rounds, median per transaction:")
    print("| binding | wall µs | client CPU µs |\n| --- | ---: | ---: |")
    for name, samples in results.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        print(f"| {name} | {wall:.0f} | {cpu:.0f} |")


if __name__ == "__main__":
    main()
