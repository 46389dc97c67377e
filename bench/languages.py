"""Benchmark of the interface's languages and formats: the same pages rendered in English with
the `en` locale, in Swahili with `sw_KE` and in English with `fr_FR`, to see what translating
every message and formatting every amount and date the shop's way costs.

    .venv/bin/python bench/languages.py [--server postgresql://postgres@127.0.0.1:5432/postgres]

The server URL must be a superuser's; the run makes the database shopcredit_bench_languages,
loads one business with 2,000 overdue customers (8,000 sales) and reports the median of 21
renders, after one warm-up, of /overdue (50 rows) and /overdue/print (all 2,000 rows, each with
amounts, dates and translated labels), per setting.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.overdue import RUNS, median_ms
from tests.helpers import PASSWORD, app_config, login
from webapp import create_app, embedded, migrate
from webapp.db import get_db
from webapp.staff.operations import create_user

DATABASE = "shopcredit_bench_languages"
# One business: 2,000 customers, each with four overdue sales of 25.00 (due 10 to 70 days ago).
LOAD = """
WITH b AS (
    INSERT INTO businesses (slug, name) VALUES ('render', 'Render') RETURNING id
), u AS (
    INSERT INTO users (business_id, email, name, password_hash, role)
    SELECT id, 'bench@example.com', 'Bench', 'x', 'owner' FROM b RETURNING business_id, id
)
INSERT INTO customers (business_id, name, phone, credit_limit, balance)
SELECT b.id, 'Customer ' || g, '+2547' || lpad(g::text, 8, '0'), 100000, 100
  FROM b, generate_series(1, 2000) g;
INSERT INTO orders (business_id, customer_id, total, due_on, created_by, idempotency_key,
                    balance_after, number, created_at)
SELECT c.business_id, c.id, 25, current_date - (10 + k * 20), u.id, gen_random_uuid(), 25 * k,
       row_number() OVER (), now() - make_interval(days => 40 + k * 20)
  FROM customers c CROSS JOIN generate_series(1, 4) k
  JOIN users u ON u.business_id = c.business_id;
SELECT rebuild_due_summaries(id) FROM businesses;
"""
SETTINGS = (("en", "en"), ("sw_KE", "sw"), ("fr_FR", "en"))  # (shop's locale, person's language)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with psycopg.connect(args.server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(DATABASE)))  # fmt: skip
    urls = embedded.create_roles_and_database(args.server, DATABASE)
    migrate.upgrade(urls.admin)
    with psycopg.connect(urls.admin) as conn:
        conn.execute(LOAD)
        (business,) = conn.execute("SELECT id FROM businesses").fetchone()
    app = create_app(app_config(urls))
    with app.app_context(), get_db().admin_transaction() as session:
        user = create_user(session, business_id=business, email="owner@render.test",
                           name="Owner", role="owner", password=PASSWORD)  # fmt: skip
        user_id = user.id
    client = app.test_client()
    assert login(client, "render", "owner@render.test").status_code == 302

    results = []
    for locale, language in SETTINGS:
        with psycopg.connect(urls.admin) as conn:
            conn.execute("UPDATE businesses SET locale = %s, currency = 'KES'", (locale,))
            conn.execute("UPDATE users SET language = %s WHERE id = %s", (language, user_id))
        page = client.get("/overdue/print").get_data(as_text=True)
        assert f'<html lang="{language}">' in page
        screen = median_ms(lambda: client.get("/overdue").status_code)
        printed = median_ms(lambda: client.get("/overdue/print").status_code)
        results.append((locale, language, screen, printed))

    print(f"\nMedian of {RUNS} renders after one warm-up, 2,000 overdue customers\n")
    print("| shop's locale | language | /overdue ms | /overdue/print ms |")
    print("| --- | --- | ---: | ---: |")
    for locale, language, screen, printed in results:
        print(f"| {locale} | {language} | {screen:.1f} | {printed:.1f} |")
    base = results[0][3]
    for locale, language, _screen, printed in results[1:]:
        print(f"\n/overdue/print, {locale} + {language} against en + en: {printed / base:.2f}×")
    with app.app_context():
        get_db().dispose()


if __name__ == "__main__":
    main()
