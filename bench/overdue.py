"""Benchmark of the overdue list: a business with a million sales beside one with ten thousand.

    .venv/bin/python bench/overdue.py [--server postgresql://postgres@127.0.0.1:5432/postgres]

The server URL must be a superuser's; the run makes the database shopcredit_bench_overdue. It
loads two businesses of 10,000 customers and 1,000,000 sales each (spread over two years: a third
paid, a third half paid, a third unpaid), one of 10,000 customers and 10,000 sales, and one with
2,000 overdue customers, then reports:

1. the median time of the overdue query (a screen page of 50 rows and the totals of all) for the
   million-sale business and for the ten-thousand-sale one, and their ratio;
2. the median time to render /overdue (first page) and /overdue/print (all 2,000 rows) through
   the whole Flask app, signed in.
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
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import PASSWORD, app_config, login
from webapp import create_app, embedded, migrate, reports
from webapp.db import get_db
from webapp.staff.operations import create_user

DATABASE = "shopcredit_bench_overdue"
RUNS = 21

# One business: customers, then sales spread over two years at random, then what each
# customer owes and one recent payment each (the list shows the last payment's date).
LOAD = [
    """
WITH b AS (
    INSERT INTO businesses (slug, name) VALUES (%(slug)s, %(slug)s) RETURNING id
), u AS (
    INSERT INTO users (business_id, email, name, password_hash, role)
    SELECT id, 'bench@example.com', 'Bench', 'x', 'owner' FROM b RETURNING business_id, id
)
INSERT INTO customers (business_id, name, phone, credit_limit)
SELECT b.id, 'Customer ' || g, '+2547' || lpad(g::text, 8, '0'), 10000000
  FROM b, generate_series(1, %(customers)s) g""",
    """
WITH ids AS (
    SELECT business_id, array_agg(id ORDER BY id) AS customers
      FROM customers WHERE business_id = (SELECT id FROM businesses WHERE slug = %(slug)s)
     GROUP BY business_id
), u AS (
    SELECT id FROM users WHERE business_id = (SELECT business_id FROM ids)
), sales AS (
    SELECT g, 1 + (g::bigint * 7919) %% 50 AS total,
           now() - (random() * 730) * interval '1 day' AS created_at
      FROM generate_series(1, %(sales)s) g
)
INSERT INTO orders (business_id, customer_id, total, paid, due_on, created_by,
                    idempotency_key, balance_after, created_at, number)
SELECT ids.business_id, ids.customers[1 + s.g %% %(customers)s], s.total,
       CASE s.g %% 3 WHEN 0 THEN s.total WHEN 1 THEN s.total / 2.0 ELSE 0 END,
       s.created_at::date + 30, u.id, gen_random_uuid(), 0, s.created_at,
       row_number() OVER (ORDER BY s.created_at)
  FROM sales s, ids, u""",
    """
UPDATE customers c SET balance = o.owed
  FROM (SELECT customer_id, sum(total - paid) AS owed FROM orders
         WHERE business_id = (SELECT id FROM businesses WHERE slug = %(slug)s)
         GROUP BY customer_id) o
 WHERE c.id = o.customer_id""",
    """
INSERT INTO payments (business_id, customer_id, amount, created_by, idempotency_key,
                      balance_after, created_at, number)
SELECT c.business_id, c.id, 1, u.id, gen_random_uuid(), c.balance,
       now() - (random() * 60) * interval '1 day', row_number() OVER (ORDER BY c.id)
  FROM customers c JOIN users u ON u.business_id = c.business_id
 WHERE c.business_id = (SELECT id FROM businesses WHERE slug = %(slug)s)""",
    # Numbered as migration 0015 numbered existing records: each counter at its highest.
    """
INSERT INTO document_counters (business_id, kind, last_number)
SELECT b.id, k.kind, k.last
  FROM businesses b,
       LATERAL (SELECT 'sale', (SELECT max(number) FROM orders WHERE business_id = b.id)
                UNION ALL
                SELECT 'payment', (SELECT max(number) FROM payments WHERE business_id = b.id))
               AS k(kind, last)
 WHERE b.slug = %(slug)s""",
    # Loaded outside the ledger functions: rebuild what they would have kept up to date.
    "SELECT rebuild_due_summaries(id) FROM businesses WHERE slug = %(slug)s",
]


def load(admin_url: str, slug: str, customers: int, sales: int) -> uuid.UUID:
    started = time.monotonic()
    with psycopg.connect(admin_url) as conn:
        for statement in LOAD:
            conn.execute(statement, {"slug": slug, "customers": customers, "sales": sales})
        business = conn.execute("SELECT id FROM businesses WHERE slug = %s", (slug,)).fetchone()
    print(f"  loaded {slug}: {customers:,} customers, {sales:,} sales "
          f"in {time.monotonic() - started:.0f} s")  # fmt: skip
    return business[0]


def median_ms(work: Callable[[], object]) -> float:
    work()  # warm: plans and caches, as on a server that has been running
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    with psycopg.connect(args.server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(DATABASE)))  # fmt: skip
        version = conn.execute("SHOW server_version").fetchone()[0]
    urls = embedded.create_roles_and_database(args.server, DATABASE)
    migrate.upgrade(urls.admin)
    print("Loading (a few minutes)…")
    big = load(urls.admin, "big", 10_000, 1_000_000)
    load(urls.admin, "twin", 10_000, 1_000_000)
    small = load(urls.admin, "small", 10_000, 10_000)
    render = load(urls.admin, "render", 2_000, 8_000)
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")

    app = create_app(app_config(urls))
    with app.app_context():
        database = get_db()

        def overdue_of(business_id: uuid.UUID) -> Callable[[], object]:
            def run() -> object:
                with database.transaction(business_id) as session:
                    return reports.overdue(session, limit=50)

            return run

        with database.transaction(big) as session:
            listed = reports.overdue(session, limit=50)
        million = median_ms(overdue_of(big))
        ten_thousand = median_ms(overdue_of(small))
        with database.admin_transaction() as session:
            create_user(session, business_id=render, email="owner@render.test", name="Owner",
                        role="owner", password=PASSWORD)  # fmt: skip
    client = app.test_client()
    assert login(client, "render", "owner@render.test").status_code == 302
    screen = median_ms(lambda: client.get("/overdue").status_code)
    printed = median_ms(lambda: client.get("/overdue/print").status_code)
    rows = client.get("/overdue/print").get_data(as_text=True).count("<tr>") - 1

    print(f"\nPostgreSQL {version}; median of {RUNS} runs after one warm-up\n")
    print(f"1. Overdue query (page of 50 + totals); the big business lists {listed.count:,} "
          "overdue customers\n")  # fmt: skip
    print("| business | sales | median ms |\n| --- | ---: | ---: |")
    print(f"| big | 1,000,000 | {million:.1f} |\n| small | 10,000 | {ten_thousand:.1f} |")
    print(f"\nratio million / ten thousand: {million / ten_thousand:.1f} (target ≤ 2.0); "
          f"at a million: {million:.0f} ms (target ≤ 150 ms)")  # fmt: skip
    print(f"\n2. Rendering, signed in, 2,000 overdue customers ({rows:,} rows printed)\n")
    print("| page | median ms |\n| --- | ---: |")
    print(f"| /overdue (first 50) | {screen:.1f} |\n| /overdue/print (all) | {printed:.1f} |")
    print("\ntarget: /overdue under 300 ms")
    database.dispose()


if __name__ == "__main__":
    main()
