"""The app's CPU per web sale, counted rather than timed: one clerk, one gunicorn worker.

    .venv/bin/python bench/web_cpu.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                      [--sales 400] [--profile /tmp/web-sale.txt]

bench/http_load.py measures the web sale under load (sales/s, latencies, CPU of app and
database at 8 and 32 clerks); its CPU figure moves with whatever else the machine runs. This
one answers a narrower question that a busy machine does not disturb much: how many CPU
seconds does the app's process spend on one web sale (the five requests of issue 12: the
form, two barcode lookups, the post, the receipt)? It seeds the same shop as http_load.py,
starts gunicorn with one gthread worker and one thread, signs one clerk in, makes 50 sales to
warm up, then `--sales` more one after another, and divides the worker's user + system CPU
time by the sales. With --profile, py-spy samples the worker during the measured sales and the
file gets the share of samples under each of ShopCredit's own functions and each library.
"""

from __future__ import annotations

import argparse
import collections
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import http_load, purchase
from webapp import embedded, migrate

DATABASE = "shopcredit_bench_web_cpu"
WARMUP_SALES = 50


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def summarise(raw: Path, out: Path) -> None:
    """py-spy's raw format: one collapsed stack per line with its sample count. A sample
    counts once under every distinct frame of its stack (inclusive), once under its own
    library or module (the innermost frame's), for a ranked view of where the time goes."""
    inclusive: collections.Counter[str] = collections.Counter()
    innermost: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            if "webapp/" in frame or "(webapp" in frame:
                inclusive[frame] += count
        where = frames[-1].split("(")[-1].split(":")[0]
        innermost[where.split("site-packages/")[-1].split("/")[0]] += count
    lines = [f"{total} samples\n", "Inclusive, ShopCredit's own functions:"]
    lines += [f"{100 * n / total:6.1f}%  {frame}" for frame, n in inclusive.most_common(40)]
    lines += ["", "Self, by package or module of the innermost frame:"]
    lines += [f"{100 * n / total:6.1f}%  {where}" for where, n in innermost.most_common(25)]
    out.write_text("\n".join(lines) + "\n")


def run(server_url: str, sales: int, profile: Path | None) -> float:
    purchase.recreate_database(server_url, DATABASE)
    urls = embedded.create_roles_and_database(server_url, DATABASE)
    log = Path(tempfile.mkstemp(prefix="shopcredit-web-cpu-", suffix=".log")[1])
    server = None
    try:
        migrate.upgrade(urls.admin)
        shop, _small = http_load.seed(urls.admin, 1)
        server = http_load.start_gunicorn(urls, workers=1, threads=1, log=log)
        (worker,) = server.workers()
        clerk = shop.clerks[0]
        browser = http_load.Browser(server.port)
        http_load.sign_in(browser, clerk.email)
        rng = random.Random(12)
        tally = http_load.Tally()
        for _ in range(WARMUP_SALES):
            http_load.one_sale(browser, clerk, rng, True, tally)
        spy = None
        if profile is not None:
            raw = profile.with_suffix(".raw")
            spy = subprocess.Popen(  # noqa: S603 (our own venv's py-spy, fixed arguments)
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(worker.pid),
                 "--rate", "250", "--format", "raw", "--output", str(raw), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        before = cpu_seconds(worker)
        for _ in range(sales):
            http_load.one_sale(browser, clerk, rng, True, tally)
        per_sale_ms = (cpu_seconds(worker) - before) * 1000 / sales
        if spy is not None and profile is not None:
            spy.send_signal(2)  # py-spy writes its file on Ctrl-C
            spy.wait(timeout=60)
            summarise(profile.with_suffix(".raw"), profile)
        if tally.errors:
            raise http_load.BenchError(f"{len(tally.errors)} errors: {tally.errors[:3]}")
        return per_sale_ms
    finally:
        if server is not None:
            server.stop()
        purchase.recreate_database(server_url, DATABASE)
        log.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sales", type=int, default=400)
    parser.add_argument("--profile", type=Path, help="py-spy summary written here")
    args = parser.parse_args()
    per_sale = run(args.server, args.sales, args.profile)
    print(f"app CPU per web sale (one worker, one clerk, {args.sales} sales): {per_sale:.2f} ms")


if __name__ == "__main__":
    main()
