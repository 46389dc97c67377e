"""Benchmark of the owners' reports (/reports) at a million sales, against ten thousand.

    .venv/bin/python bench/reports.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                      [--sales 1000000] [--small 10000] [--runs 15]

The server URL must be a superuser's: the run makes its own database (shopcredit_bench_reports,
dropped first if it is there) and the ShopCredit roles, and drops nothing else. In it, two
shops with the same 5,000 customers and 500 products each: one with `--sales` sales over the
last 365 days, one with `--small`. Sales are written straight as the tables' owner
(generate_series): two lines each, one in twenty a quick entry, four in five paid in full 10 to
50 days later (by one of the five methods), if that day has come; then the rollups are filled
by rebuild_report_rollups, the SQL migration 0022 ran on existing shops (timed: what the
migration costs such a shop).

Then, as the app's own login with the shop bound (row-level security on, as a page runs it),
each report's query exactly as the page runs it (webapp/sql/reports/*.sql) at the largest
period the page offers: 366 days by week (and by month; 92 days by day), and the top customers.
It prints the median of `--runs` runs after three warm-up runs, per shop, and the ratio, with
the machine's load average (other work on the machine shows in the numbers).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import embedded, migrate
from webapp.insights.period import MAX_DAYS, MAX_DAYS_BY_DAY, Period, month_split
from webapp.insights.queries import TOP_CUSTOMERS, report_sql

DATABASE = "shopcredit_bench_reports"
CUSTOMERS = 5_000
PRODUCTS = 500
METHODS = ("cash", "card", "bank_transfer", "mobile_money", "other")

# One shop's year, from the sale's number g (0 .. n-1): its customer, products, quantities and
# total are worked out from g, so the lines and payments can be made in their own statements.
# Ids are md5 of the shop and g, for the same reason.
SHOP_SQL = """
INSERT INTO customers (business_id, id, name, credit_limit)
SELECT %(b)s, md5(%(b)s::text || 'c' || n)::uuid, 'Customer ' || n, 9999999999
  FROM generate_series(0, %(customers)s - 1) n;

INSERT INTO products (business_id, id, name, price, stock)
SELECT %(b)s, md5(%(b)s::text || 'p' || n)::uuid, 'Product ' || n, 1.25 + n %% 50, 1000000
  FROM generate_series(0, %(products)s - 1) n;

CREATE TEMPORARY TABLE bench_sales ON COMMIT DROP AS
SELECT g, ts, g %% 20 = 0 AS quick, p1, (p1 + 1 + g %% 7) %% %(products)s AS p2,
       1 + g %% 3 AS q1, 1 + g %% 2 AS q2, 10 + g %% 41 AS lag
  FROM (SELECT g, now() - interval '365 days' + g * (interval '365 days' / %(n)s) AS ts,
               (g * 7) %% %(products)s AS p1
          FROM generate_series(0, %(n)s - 1) g) s;

INSERT INTO orders (business_id, id, customer_id, total, due_on, created_by, idempotency_key,
                    balance_after, created_at, number, note)
SELECT %(b)s, md5(%(b)s::text || 'o' || g)::uuid,
       md5(%(b)s::text || 'c' || g %% %(customers)s)::uuid,
       CASE WHEN quick THEN 25.00 ELSE q1 * (1.25 + p1 %% 50) + q2 * (1.25 + p2 %% 50) END,
       (ts AT TIME ZONE 'UTC')::date + 30, %(u)s, gen_random_uuid(), 0, ts, g + 1,
       CASE WHEN quick THEN 'goods' ELSE '' END
  FROM bench_sales;

INSERT INTO order_items (business_id, order_id, product_id, quantity, unit_price, line_no)
SELECT %(b)s, md5(%(b)s::text || 'o' || g)::uuid, md5(%(b)s::text || 'p' || l.p)::uuid, l.q,
       1.25 + l.p %% 50, l.line
  FROM bench_sales, LATERAL (VALUES (p1, q1, 1), (p2, q2, 2)) AS l(p, q, line)
 WHERE NOT quick;

INSERT INTO payments (business_id, id, customer_id, amount, method, created_by, idempotency_key,
                      balance_after, created_at, number)
SELECT %(b)s, md5(%(b)s::text || 'y' || g)::uuid, o.customer_id, o.total,
       (ARRAY['cash', 'card', 'bank_transfer', 'mobile_money', 'other'])[1 + g %% 5], %(u)s,
       gen_random_uuid(), 0, s.ts + s.lag * interval '1 day', g + 1
  FROM bench_sales s
  JOIN orders o ON o.business_id = %(b)s AND o.id = md5(%(b)s::text || 'o' || g)::uuid
 WHERE g %% 5 <> 0 AND s.ts + s.lag * interval '1 day' < now();

INSERT INTO payment_allocations (business_id, payment_id, order_id, amount)
SELECT %(b)s, p.id, md5(%(b)s::text || 'o' || (p.number - 1))::uuid, p.amount
  FROM payments p WHERE p.business_id = %(b)s;

UPDATE orders o SET paid = o.total
  FROM payment_allocations a
 WHERE a.business_id = %(b)s AND o.business_id = %(b)s AND o.id = a.order_id;

UPDATE customers c SET balance = s.owed
  FROM (SELECT customer_id, sum(total - paid) AS owed FROM orders
         WHERE business_id = %(b)s GROUP BY 1) s
 WHERE c.business_id = %(b)s AND c.id = s.customer_id;

INSERT INTO document_counters (business_id, kind, last_number)
VALUES (%(b)s, 'sale', %(n)s), (%(b)s, 'payment', %(n)s);
"""


def recreate_database(server: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
        )


def make_shop(admin_url: str, slug: str, sales: int) -> tuple[uuid.UUID, float, float]:
    """The shop, its year of sales, its rollups; seconds to write the sales, and to fill the
    rollups (rebuild_report_rollups, as migration 0022 does)."""
    with psycopg.connect(admin_url) as conn:
        business = conn.execute(
            "INSERT INTO businesses (slug, name) VALUES (%s, %s) RETURNING id", (slug, slug)
        ).fetchone()[0]
        user = conn.execute(
            "INSERT INTO users (business_id, email, name, password_hash, role)"
            " VALUES (%s, 'bench@example.com', 'Bench', 'x', 'owner') RETURNING id",
            (business,),
        ).fetchone()[0]
        params = {
            "b": business,
            "u": user,
            "n": sales,
            "customers": CUSTOMERS,
            "products": PRODUCTS,
        }
        started = time.perf_counter()
        for statement in SHOP_SQL.split(";\n\n"):
            conn.execute(statement, params)
        conn.execute("SELECT rebuild_due_summaries(%s)", (business,))
        written = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("SELECT rebuild_report_rollups(%s)", (business,))
        filled = time.perf_counter() - started
    return business, written, filled


def reused(server: str) -> tuple[embedded.DatabaseUrls, uuid.UUID, uuid.UUID] | None:
    """The database and shops of an earlier run, or None when there are none."""
    with psycopg.connect(server) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            return None
    admin = embedded.role_url(
        server, str(psycopg.conninfo.conninfo_to_dict(server)["user"]), DATABASE
    )
    with psycopg.connect(admin) as conn:
        shops = dict(conn.execute("SELECT slug, id FROM businesses").fetchall())
        login = conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname = %s", (f"{DATABASE}_web",)
        ).fetchone()
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()[0]
    if "big" not in shops or "small" not in shops or login is None:
        return None
    urls = embedded.DatabaseUrls(
        app=embedded.role_url(server, login[0], DATABASE),
        admin=embedded.role_url(server, owner, DATABASE),
    )
    return urls, shops["big"], shops["small"]


PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


def as_psycopg(text: str) -> str:
    """The page's SQL (`:name` parameters, SQLAlchemy's) as psycopg takes it (`%(name)s`)."""
    return PARAMETER.sub(r"%(\1)s", text.replace("%", "%%"))


def median_ms(
    app_url: str, business: uuid.UUID, query: str, params: dict[str, object], runs: int
) -> tuple[float, int]:
    """The median ms of the query in a transaction of its own with the shop bound (3 warm-up
    runs first), and the number of rows it answered."""
    timings = []
    rows = 0
    with psycopg.connect(app_url) as conn:
        for run in range(runs + 3):
            started = time.perf_counter()
            with conn.transaction():
                conn.execute("SELECT set_config('app.business_id', %s, true)", (str(business),))
                rows = len(conn.execute(query, params).fetchall())
            if run >= 3:
                timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), rows


def cases(today: date) -> dict[str, tuple[str, Callable[[], dict[str, object]]]]:
    """Each report's query at the largest period its page offers."""
    year = Period(today - timedelta(days=MAX_DAYS - 1), today, "week")
    days = Period(today - timedelta(days=MAX_DAYS_BY_DAY - 1), today, "day")

    def span(period: Period, by: str) -> dict[str, object]:
        return {"period": by, "starts": period.starts, "ends": period.ends}

    def points(period: Period) -> dict[str, object]:
        found = period.points()
        return {"points": found, "ends": found[-1]}

    months = Period(year.starts, today, "month")
    mid = today.replace(day=1) - timedelta(days=16)
    return {
        "sales by week, 366 days": ("sales_by_period", lambda: span(year, "week")),
        "sales by day, 92 days": ("sales_by_period", lambda: span(days, "day")),
        "sales by product, 366 days": (
            "sales_by_product",
            lambda: month_split(year.starts, year.ends),
        ),
        # The worst ends: both in the middle of a month, half a month of days read at each.
        "sales by product, 366 days, mid-month": (
            "sales_by_product",
            lambda: month_split(mid - timedelta(days=MAX_DAYS - 1), mid),
        ),
        "collections by week, 366 days": ("collections", lambda: span(year, "week")),
        "collections by day, 92 days": ("collections", lambda: span(days, "day")),
        "owed by age, 53 weeks": ("owed_by_age", lambda: points(year)),
        "owed by age, 13 months": ("owed_by_age", lambda: points(months)),
        "owed by age, 92 days": ("owed_by_age", lambda: points(days)),
        "top customers": ("top_customers", lambda: {"limit": TOP_CUSTOMERS}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--reuse", action="store_true", help="time the shops an earlier run left, if there"
    )
    args = parser.parse_args()

    shops = reused(args.server) if args.reuse else None
    if shops is not None:
        urls, big, small = shops
        migrate.upgrade(urls.admin)  # the report queries are read from this checkout anyway
        big_written = big_filled = small_written = small_filled = float("nan")
    else:
        recreate_database(args.server)
        urls = embedded.create_roles_and_database(args.server, DATABASE)
        migrate.upgrade(urls.admin)
        big, big_written, big_filled = make_shop(urls.admin, "big", args.sales)
        small, small_written, small_filled = make_shop(urls.admin, "small", args.small)
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        if shops is None:
            conn.execute("VACUUM ANALYZE")
        version = conn.execute("SHOW server_version").fetchone()[0]
        today = conn.execute("SELECT current_date").fetchone()[0]
        sizes = {
            table: conn.execute(
                f"SELECT business_id = %s, count(*) FROM {table} GROUP BY 1 ORDER BY 1", (big,)
            ).fetchall()
            for table in (
                "orders",
                "payments",
                "sales_by_day",
                "sales_by_month",
                "sales_totals_by_day",
                "owed_by_day",
                "collections_by_day",
            )
        }

    print(f"PostgreSQL {version}; load average before the timings: {os.getloadavg()}")
    print(f"{args.sales:,} and {args.small:,} sales over 365 days, {CUSTOMERS:,} customers and")
    print(f"{PRODUCTS:,} products each; median of {args.runs} runs after 3 warm-up runs\n")
    print("| rows | small shop | big shop |\n| --- | ---: | ---: |")
    for table, counts in sizes.items():
        by_shop = {is_big: count for is_big, count in counts}
        print(f"| {table} | {by_shop.get(False, 0):,} | {by_shop.get(True, 0):,} |")
    print(f"\nWriting the sales: {small_written:.1f} s and {big_written:.1f} s; filling the")
    print(f"rollups from them (migration 0022): {small_filled:.2f} s and {big_filled:.1f} s\n")

    print("| report, largest period | small ms | big ms | big ÷ small | rows |")
    print("| --- | ---: | ---: | ---: | ---: |")
    worst = 0.0
    worst_ratio = 0.0
    for label, (name, params) in cases(today).items():
        query = as_psycopg(report_sql(name))
        small_ms, _ = median_ms(urls.app, small, query, params(), args.runs)
        big_ms, rows = median_ms(urls.app, big, query, params(), args.runs)
        worst = max(worst, big_ms)
        worst_ratio = max(worst_ratio, big_ms / small_ms)
        print(f"| {label} | {small_ms:.2f} | {big_ms:.2f} | {big_ms / small_ms:.2f} | {rows} |")
    print(f"\nload average after: {os.getloadavg()}")
    print("Targets (issue 16): each report ≤ 300 ms at the big shop, big ÷ small ≤ 3")
    print(f"- slowest: {worst:.1f} ms; largest ratio: {worst_ratio:.2f}")


if __name__ == "__main__":
    main()
