"""The randomized concurrent simulation (tests/simulation.py) at benchmark size.

    .venv/bin/python bench/simulation.py --operations 100000 --threads 16 --seed N
        [--server postgresql://postgres@127.0.0.1:5432/postgres | --embedded]
        [--customers 10] [--products 8] [--kill-every 0.2]

Many threads sell, take payments, restock, write off damage, correct counts, change prices and
credit limits on a few customers and products, through the ledger functions as the app role;
requests are resent and doubled, and random busy backends are killed (then the request is sent
again with its key). It prints operations per second by kind, refusals by kind, kills, and the
final checks (check-ledger, stock, limits and prices in force, exactly once), and exits 1 if
any check failed, with the seed that reproduces the workload.

The server URL must be a superuser's (the killer's connection); the run makes the database
shopcredit_bench_simulation (migrated) and drops it at the end. With --embedded it starts a
throwaway embedded PostgreSQL instead.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import simulation
from webapp import embedded, migrate

DATABASE = "shopcredit_bench_simulation"


def drop_database(server: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
        )


def simulate(server: str, config: simulation.Config) -> simulation.Result:
    drop_database(server)
    urls = embedded.create_roles_and_database(server, DATABASE)
    try:
        migrate.upgrade(urls.admin)
        with psycopg.connect(server) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        print(f"PostgreSQL {version}; {config.operations:,} operations on {config.threads} threads")
        return simulation.run(server, urls, config, progress=print)
    finally:
        drop_database(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seed", type=int, default=None, help="default: random, printed")
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--products", type=int, default=8)
    parser.add_argument(
        "--kill-every", type=float, default=0.2, help="mean seconds between kills (0: none)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    where.add_argument("--embedded", action="store_true", help="a throwaway embedded server")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**9)
    config = simulation.Config(
        seed=seed,
        operations=args.operations,
        threads=args.threads,
        customers=args.customers,
        products=args.products,
        kill_every=args.kill_every,
    )

    if args.embedded:
        folder = Path(tempfile.mkdtemp(prefix="shopcredit-bench-sim-"))
        server = embedded.start_server(folder / "pgdata", delete_on_exit=True)
        try:
            result = simulate(server.url, config)
        finally:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)
    else:
        result = simulate(args.server, config)

    print()
    print(result.report())
    if result.failures:
        print()
        print(result.failure_message())
        sys.exit(1)


if __name__ == "__main__":
    main()
