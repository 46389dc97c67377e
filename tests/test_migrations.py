"""The migration runner: in order, once each, edits refused, concurrent runs take turns; function
files applied after them, and again whenever they change. Landed migrations keep their checksums."""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.helpers import migrated_before, old_owner, old_shop
from webapp import embedded, migrate


def _applied(admin_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(admin_url) as conn:
        return conn.execute("SELECT name, checksum FROM schema_migrations ORDER BY name").fetchall()


def _functions_applied(admin_url: str) -> dict[str, tuple[str, object]]:
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute("SELECT name, checksum, applied_at FROM schema_functions").fetchall()
    return {name: (checksum, applied_at) for name, checksum, applied_at in rows}


def _everything() -> list[str]:
    """What upgrade() applies to an empty database: the migrations, then every function file."""
    return [m.name for m in migrate.discover()] + [
        migrate.FUNCTIONS_PREFIX + f.name for f in migrate.discover_functions()
    ]


def _copy_sql(tmp_path: Path) -> Path:
    """A copy of sql/ (migrations and functions); returns its migrations folder."""
    shutil.copytree(migrate.SQL_DIR, tmp_path / "sql")
    return tmp_path / "sql" / "migrations"


def test_applies_every_migration_to_an_empty_database_then_nothing(
    fresh_database: Callable[[], embedded.DatabaseUrls],
) -> None:
    urls = fresh_database()
    names = [m.name for m in migrate.discover()]
    assert names and names == sorted(names)
    functions = [f.name for f in migrate.discover_functions()]
    assert functions and functions == sorted(functions)

    assert migrate.upgrade(urls.admin) == _everything()
    assert [name for name, _ in _applied(urls.admin)] == names
    assert sorted(_functions_applied(urls.admin)) == functions
    assert migrate.upgrade(urls.admin) == []  # a second run is a no-op
    with psycopg.connect(urls.admin) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
    assert {
        "businesses",
        "users",
        "customers",
        "products",
        "orders",
        "order_items",
        "payments",
        "payment_allocations",
        "api_tokens",
        "stock_movements",
    } <= tables


def test_an_edited_applied_migration_is_refused_by_name(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    urls = fresh_database()
    directory = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, directory)
    migrate.upgrade(urls.admin, directory)
    first = sorted(directory.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited afterwards\n")

    with pytest.raises(migrate.MigrationError, match=first.name):
        migrate.upgrade(urls.admin, directory)


def test_a_failing_migration_leaves_nothing_behind(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    urls = fresh_database()
    directory = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, directory)
    migrate.upgrade(urls.admin, directory)
    (directory / "9998_half.sql").write_text(
        "CREATE TABLE half_done (id int);\nSELECT no_such_function();\n"
    )

    with pytest.raises(psycopg.errors.UndefinedFunction):
        migrate.upgrade(urls.admin, directory)
    with psycopg.connect(urls.admin) as conn:
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)
    assert "9998_half.sql" not in {name for name, _ in _applied(urls.admin)}


def test_concurrent_upgrades_apply_each_migration_once(
    fresh_database: Callable[[], embedded.DatabaseUrls],
) -> None:
    urls = fresh_database()
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate.upgrade(urls.admin))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    names = [m.name for m in migrate.discover()]
    assert sorted(results, key=len) == [[], [], [], _everything()]
    assert [name for name, _ in _applied(urls.admin)] == names


def test_stock_from_before_0004_becomes_each_products_first_history_line(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    """A shop that ran the first three migrations has products whose stock has no history
    behind it (only their sales'); 0004 adds the missing opening lines, so check-ledger holds."""
    from tests.helpers import ledger_violations

    urls = fresh_database()
    migrated_before(urls.admin, "0004", tmp_path)
    with psycopg.connect(urls.admin) as conn:
        business = old_shop(conn)
        owner = old_owner(conn, business)
        rice, salt, none = (
            conn.execute(
                "INSERT INTO products (business_id, name, price, stock) "
                "VALUES (%s, %s, 1, %s) RETURNING id",
                (business, name, stock),
            ).fetchone()[0]
            for name, stock in (("Rice", 7), ("Salt", 4), ("Empty", 0))
        )
        conn.execute(  # a sale of 3 rice recorded its line, as process_purchase does
            "INSERT INTO stock_movements (business_id, product_id, change, reason, "
            "resulting_stock, created_by, created_at) "
            "VALUES (%s, %s, -3, 'sale', 7, %s, now() - interval '1 day')",
            (business, rice, owner),
        )

    migrate.upgrade(urls.admin)
    with psycopg.connect(urls.admin) as conn:
        lines = conn.execute(
            "SELECT product_id, reason, change, resulting_stock, created_by FROM stock_movements "
            "ORDER BY product_id, created_at"
        ).fetchall()
    assert sorted(lines) == sorted(
        [
            (rice, "opening", 10, 10, owner),
            (rice, "sale", -3, 7, owner),
            (salt, "opening", 4, 4, owner),
        ]
    )
    assert none not in {line[0] for line in lines}
    assert ledger_violations(urls.admin) == []


def test_a_changed_function_file_is_applied_again_and_only_that_one(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    urls = fresh_database()
    directory = _copy_sql(tmp_path)
    functions = directory.parent / "functions"
    assert migrate.upgrade(urls.admin, directory) == _everything()
    first = _functions_applied(urls.admin)

    changed = functions / "ledger_refuse.sql"
    changed.write_text(
        changed.read_text()
        + "COMMENT ON FUNCTION ledger_refuse(text, text, jsonb) IS 'changed afterwards';\n"
    )
    assert migrate.upgrade(urls.admin, directory) == ["functions/ledger_refuse.sql"]
    with psycopg.connect(urls.admin) as conn:
        comment = conn.execute(
            "SELECT obj_description('ledger_refuse(text, text, jsonb)'::regprocedure)"
        ).fetchone()
    assert comment == ("changed afterwards",)
    now = _functions_applied(urls.admin)
    checksum = hashlib.sha256(changed.read_text().encode()).hexdigest()
    assert now.pop("ledger_refuse.sql")[0] == checksum != first.pop("ledger_refuse.sql")[0]
    assert now == first  # the unchanged files were not applied again (same applied_at)

    assert migrate.upgrade(urls.admin, directory) == []


def test_a_failing_function_file_leaves_nothing_behind_and_is_tried_again(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    urls = fresh_database()
    directory = _copy_sql(tmp_path)
    migrate.upgrade(urls.admin, directory)
    broken = directory.parent / "functions" / "zz_half.sql"
    broken.write_text(
        "CREATE OR REPLACE FUNCTION half_done() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
        "SELECT no_such_function();\n"
    )

    for _ in range(2):  # not recorded as applied, so the next run tries it again
        with pytest.raises(psycopg.errors.UndefinedFunction):
            migrate.upgrade(urls.admin, directory)
    with psycopg.connect(urls.admin) as conn:
        assert conn.execute("SELECT to_regproc('half_done')").fetchone() == (None,)
    assert "zz_half.sql" not in _functions_applied(urls.admin)


def test_every_migration_is_listed_with_its_checksum() -> None:
    """webapp/sql/migrations/checksums.txt lists every migration with the sha256 it landed with,
    so editing a landed migration fails here (write a new migration instead), as it would fail
    `db upgrade` in every shop that applied it.

    A new migration needs its line: once the file is final, from webapp/sql/migrations run
    `sha256sum 0006_what_it_does.sql >> checksums.txt` (one line per file: the sha256, two
    spaces, the file name; `sha256sum -c checksums.txt` checks them all)."""
    directory = migrate.MIGRATIONS_DIR
    listed = {}
    for line in (directory / "checksums.txt").read_text(encoding="utf-8").splitlines():
        checksum, name = line.split()
        assert name not in listed, f"{name} is listed twice"
        listed[name] = checksum
    present = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in directory.glob("*.sql")
    }
    assert sorted(present) == sorted(listed), "every migration listed, every listed file there"
    edited = [name for name in present if present[name] != listed[name]]
    assert edited == [], f"landed migrations were edited: {edited}"
    # The runner's checksum is the same one (the files are UTF-8 with LF line ends).
    assert {m.name: m.checksum for m in migrate.discover()} == listed


def test_lines_sold_before_0007_keep_the_order_their_receipts_showed(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    """Sales made before 0007 kept no order of entry; their receipts listed the lines by product
    name, so that is the order 0007 gives them."""
    urls = fresh_database()
    migrated_before(urls.admin, "0006", tmp_path)
    with psycopg.connect(urls.admin) as conn:
        business = old_shop(conn)
        owner = old_owner(conn, business)
        customer = conn.execute(
            "INSERT INTO customers (business_id, name, credit_limit, balance) "
            "VALUES (%s, 'Ada', 100, 6) RETURNING id",
            (business,),
        ).fetchone()[0]
        order = conn.execute(
            "INSERT INTO orders (business_id, customer_id, total, due_on, created_by, "
            "idempotency_key, balance_after) "
            "VALUES (%s, %s, 6, current_date, %s, gen_random_uuid(), 6) RETURNING id",
            (business, customer, owner),
        ).fetchone()[0]
        for name in ("Salt", "Beans", "Rice"):
            product = conn.execute(
                "INSERT INTO products (business_id, name, price, stock) "
                "VALUES (%s, %s, 2, 0) RETURNING id",
                (business, name),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO order_items (business_id, order_id, product_id, quantity, "
                "unit_price) VALUES (%s, %s, %s, 1, 2)",
                (business, order, product),
            )

    migrate.upgrade(urls.admin)
    with psycopg.connect(urls.admin) as conn:
        lines = conn.execute(
            "SELECT p.name, i.line_no FROM order_items i JOIN products p ON p.id = i.product_id "
            "ORDER BY i.line_no"
        ).fetchall()
        note = conn.execute("SELECT note FROM orders").fetchall()
    assert lines == [("Beans", 1), ("Rice", 2), ("Salt", 3)]
    assert note == [("",)]


def test_rows_made_before_0010_keep_their_id_as_their_key(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    """Forms and tills sent their key as the new row's id before 0010: a form in flight must
    still find the row it made, so each row's key is its id."""
    urls = fresh_database()
    migrated_before(urls.admin, "0010", tmp_path)
    with psycopg.connect(urls.admin) as conn:
        business = old_shop(conn)
        customer = conn.execute(
            "INSERT INTO customers (business_id, name) VALUES (%s, 'Ada') RETURNING id",
            (business,),
        ).fetchone()[0]
    migrate.upgrade(urls.admin)
    with psycopg.connect(urls.admin) as conn:
        row = conn.execute("SELECT id, idempotency_key, request_hash FROM customers").fetchone()
    assert row == (customer, customer, None)


def test_0015_numbers_existing_sales_and_payments_in_the_order_they_were_made(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    from tests.helpers import ledger_violations

    urls = fresh_database()
    migrated_before(urls.admin, "0015", tmp_path)
    with psycopg.connect(urls.admin) as conn:
        business = old_shop(conn)
        owner = old_owner(conn, business)
        customer = conn.execute(
            "INSERT INTO customers (business_id, name, credit_limit, balance) "
            "VALUES (%s, 'Ada', 100, 0) RETURNING id",
            (business,),
        ).fetchone()[0]
        # Three sales of 1.00 made 3, 1 and 2 days ago (not in the order they were inserted).
        made = {}
        for days in (3, 1, 2):
            made[days] = conn.execute(
                "INSERT INTO orders (business_id, customer_id, total, due_on, created_by, "
                "idempotency_key, balance_after, created_at) VALUES (%s, %s, 1, current_date, "
                "%s, gen_random_uuid(), 0, now() - %s * interval '1 day') RETURNING id",
                (business, customer, owner, days),
            ).fetchone()[0]
        conn.execute("UPDATE customers SET balance = 3 WHERE id = %s", (customer,))
        conn.execute("SELECT rebuild_due_summaries(%s)", (business,))

    migrate.upgrade(urls.admin)
    with psycopg.connect(urls.admin) as conn:
        numbers = dict(conn.execute("SELECT id, number FROM orders").fetchall())
        assert [numbers[made[days]] for days in (3, 2, 1)] == [1, 2, 3]
        assert conn.execute(
            "SELECT last_number FROM document_counters WHERE kind = 'sale'"
        ).fetchall() == [(3,)]
        assert conn.execute("SELECT returned, credit_limit FROM orders LIMIT 1").fetchone() == (
            0,
            None,
        )
        # The next sale continues the count.
        conn.execute("SELECT set_config('app.business_id', %s, true)", (str(business),))
        sale = conn.execute(
            "SELECT number FROM process_purchase(%s, %s, '[]', gen_random_uuid(), %s, NULL, 2.5,"
            " 'goods', NULL)",
            (business, customer, owner),
        ).fetchone()
        assert sale == (4,)
    assert ledger_violations(urls.admin) == []
