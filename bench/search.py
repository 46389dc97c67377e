"""Benchmark of product search: a shop of 100,000 products beside one of 1,000, through the app.

    .venv/bin/python bench/search.py [--server postgresql://postgres@127.0.0.1:5432/postgres]

The server URL must be a superuser's; the run makes the database shopcredit_bench_search. Both
shops get a catalog from one generator (brand, product, variant, size, e.g. "Sunvale Basmati
rice Organic 5 kg"; a SKU each, most a barcode, some of them 12-digit UPCs), so a word is as
common in one as in the other. For each shop a fixed mix of 300 queries of three or more
characters is drawn from its own catalog (a third whole words of names, a third fragments of
3 to 5 letters of those words, a third exact codes: barcodes, UPCs typed as EAN-13, SKUs), and
each is asked as GET /api/products?q=…&limit=10 through the Flask app with a real API token
(the request as a till makes it: token check, the search, the capped count, JSON). One warm-up
pass, then three measured passes; the run prints p50/p95/p99 per shop and the ratio of p95s.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import app_config
from webapp import create_app, embedded, migrate

DATABASE = "shopcredit_bench_search"
PASSES = 3
QUERIES = 300

BRANDS = (
    "Sunvale Goldcrest Riverside Mapleton Kilima Savanna Bluewave Redhill Greenfield Nyota "
    "Harbor Zuri Amani Baraka Pioneer Summit Meadow Coastal Highland Everfresh Tembo Simba "
    "Kifaru Jua Upendo Mwangaza Crownline Starlite Oakridge Silverleaf Ironclad Truefit "
    "Brightway Homestead Fairmont Kingsway Lakeside Northstar Westbrook Eastgate"
).split()
PRODUCTS = (
    "Basmati rice|Brown rice|Maize flour|Wheat flour|Sugar|Brown sugar|Salt|Cooking oil|"
    "Sunflower oil|Olive oil|Margarine|Butter|Milk|Long life milk|Yoghurt|Cheese|Crème fraîche|"
    "Eggs|Bread|Biscuits|Cornflakes|Oats|Tea leaves|Coffee|Cocoa|Drinking chocolate|Juice|"
    "Mango juice|Orange squash|Soda|Mineral water|Tomato paste|Tomato sauce|Chilli sauce|"
    "Mayonnaise|Peanut butter|Jam|Honey|Baked beans|Kidney beans|Green peas|Lentils|Chickpeas|"
    "Spaghetti|Macaroni|Noodles|Sardines|Tuna|Corned beef|Sausages|Chicken cubes|Curry powder|"
    "Black pepper|Cinnamon|Garlic paste|Ginger|Royco|Baking powder|Yeast|Custard powder|"
    "Toothpaste|Toothbrush|Bath soap|Laundry soap|Detergent|Bleach|Dishwashing liquid|"
    "Toilet paper|Tissues|Diapers|Sanitary pads|Body lotion|Petroleum jelly|Shampoo|"
    "Hair oil|Deodorant|Razor blades|Matches|Candles|Batteries|Torch|Light bulb|Extension cable|"
    "Padlock|Hammer|Screwdriver|Wood screws|Machine screws|Nails|Wall plugs|Hinges|Door handle|"
    "Paint brush|Roller|Emulsion paint|Gloss paint|Varnish|Sandpaper|Masking tape|Duct tape|"
    "Glue|Silicone sealant|PVC pipe|Pipe elbow|Tap|Shower head|Hose pipe|Bucket|Basin|Jerrycan|"
    "Mop|Broom|Dustpan|Rubber gloves|Wheelbarrow|Spade|Jembe|Panga|Rake|Watering can|"
    "Fertiliser|Seeds|Insecticide|Rat poison|Mosquito coil|Charcoal|Gas refill|Paraffin|"
    "Exercise book|Ballpoint pen|Pencil|Eraser|Ruler|Envelope|Airtime card|Phone charger|"
    "Earphones|Memory card|Flour sifter|Cooking pot|Frying pan|Thermos flask|Plastic plates|"
    "Cups|Spoons|Kitchen knife|Chopping board|Cool box|Water filter"
).split("|")
VARIANTS = (
    "Original|Classic|Premium|Extra|Family pack|Value pack|Refill|Organic|Fortified|Low fat|"
    "Full cream|Spicy|Mild|Strawberry|Vanilla|Lemon|Mint|Herbal|Heavy duty|Stainless|Galvanised|"
    "White|Black|Blue|Red|Green|Large|Medium|Small|Twin pack"
).split("|")
SIZES = (
    "100 g|200 g|250 g|400 g|500 g|1 kg|2 kg|5 kg|10 kg|50 ml|100 ml|250 ml|500 ml|1 l|2 l|"
    "5 l|20 l|1 pc|2 pcs|6 pcs|12 pcs|1 m|3 m|10 m|25 mm|50 mm|No. 8|1/2 inch|3/4 inch"
).split("|")


def catalog(count: int, seed: int) -> list[tuple[str, str, str | None]]:
    """`count` products: name, SKU, barcode (70 % have one; a fifth of those a 12-digit UPC)."""
    rng = random.Random(seed)
    products = []
    barcodes: set[str] = set()
    for n in range(1, count + 1):
        product = rng.choice(PRODUCTS)
        parts = [rng.choice(BRANDS), product]
        if rng.random() < 0.7:
            parts.append(rng.choice(VARIANTS))
        parts.append(rng.choice(SIZES))
        sku = f"{product[:3].upper().replace(' ', '')}-{n:06d}"
        barcode = None
        if rng.random() < 0.7:
            while barcode is None or barcode in barcodes or "0" + barcode in barcodes:
                digits = 12 if rng.random() < 0.2 else 13
                first = str(rng.randint(1, 9)) if digits == 12 else "6"
                barcode = first + "".join(str(rng.randint(0, 9)) for _ in range(digits - 1))
            barcodes.add(barcode)
        products.append((" ".join(parts), sku, barcode))
    return products


def query_mix(products: list[tuple[str, str, str | None]], seed: int) -> list[str]:
    """A third whole words, a third fragments of 3–5 letters, a third exact codes."""
    rng = random.Random(seed)
    queries = []
    while len(queries) < QUERIES:
        name, sku, barcode = rng.choice(products)
        words = [w for w in name.split() if len(w) >= 3 and w.isalpha()]
        kind = len(queries) % 3
        if kind == 0 and words:
            queries.append(rng.choice(words).lower())
        elif kind == 1 and words:
            word = rng.choice(words)
            size = min(len(word), rng.randint(3, 5))
            start = rng.randint(0, len(word) - size)
            queries.append(word[start : start + size].lower())
        elif kind == 2:
            if barcode and len(barcode) == 12 and rng.random() < 0.5:
                queries.append("0" + barcode)  # a UPC scanned as its EAN-13
            else:
                queries.append(barcode or sku)
    return queries


def load(admin_url: str, slug: str, products: list[tuple[str, str, str | None]]) -> None:
    started = time.monotonic()
    with psycopg.connect(admin_url) as conn:
        business = conn.execute(
            "INSERT INTO businesses (slug, name) VALUES (%s, %s) RETURNING id", (slug, slug)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO users (business_id, email, name, password_hash, role) "
            "VALUES (%s, 'bench@example.com', 'Bench', 'x', 'owner')",
            (business,),
        )
        data = io.StringIO()
        for name, sku, barcode in products:
            data.write(f"{business}\t{name}\t{sku}\t{barcode or chr(92) + 'N'}\t9.99\t10\n")
        with conn.cursor().copy(
            "COPY products (business_id, name, sku, barcode, price, stock) FROM STDIN"
        ) as copy:
            copy.write(data.getvalue())
    print(f"  loaded {slug}: {len(products):,} products in {time.monotonic() - started:.1f} s")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


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
    shops = {"big": catalog(100_000, 1), "small": catalog(1_000, 2)}
    print("Loading…")
    for slug, products in shops.items():
        load(urls.admin, slug, products)
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")

    app = create_app(app_config(urls))
    results: dict[str, list[float]] = {}
    matched: dict[str, list[int]] = {}
    for slug, products in shops.items():
        result = app.test_cli_runner().invoke(
            args=["create-api-token", "--business", slug, "--name", "bench"]
        )
        auth = {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}
        client = app.test_client()
        queries = query_mix(products, 3 if slug == "big" else 4)

        def ask(query: str, client=client, auth=auth) -> dict[str, object]:  # noqa: ANN001
            response = client.get(f"/api/products?{urlencode({'q': query, 'limit': 10})}",
                                  headers=auth)  # fmt: skip
            assert response.status_code == 200, response.get_data(as_text=True)
            body: dict[str, object] = response.get_json()
            return body

        for query in queries:  # warm-up: caches, connections, the unaccent rules
            ask(query)
        timings: list[float] = []
        counts = []
        for _ in range(PASSES):
            for query in queries:
                started = time.perf_counter()
                body = ask(query)
                timings.append((time.perf_counter() - started) * 1000)
                counts.append(int(body["count"]))  # type: ignore[call-overload]
        results[slug] = timings
        matched[slug] = counts

    print(f"\nPostgreSQL {version}; {QUERIES} queries × {PASSES} passes per shop, "
          "GET /api/products?q=…&limit=10 through the Flask app\n")  # fmt: skip
    print("| shop | products | matches per query (median / p95 / max) | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for slug, timings in results.items():
        counts = matched[slug]
        print(f"| {slug} | {len(shops[slug]):,} | {statistics.median(counts):.0f} / "
              f"{percentile(counts, 0.95):.0f} / {max(counts)} | "
              f"{percentile(timings, 0.5):.2f} | {percentile(timings, 0.95):.2f} | "
              f"{percentile(timings, 0.99):.2f} |")  # fmt: skip
    big, small = percentile(results["big"], 0.95), percentile(results["small"], 0.95)
    print()
    print("| target | measured | met |")
    print("| --- | --- | --- |")
    print(f"| p95 at 100,000 products ≤ 30 ms | {big:.2f} ms | {'yes' if big <= 30 else 'NO'} |")
    ratio = big / small
    print(f"| p95 at 100,000 ≤ 2 × p95 at 1,000 | {ratio:.2f}× | {'yes' if ratio <= 2 else 'NO'} |")
    app.extensions["shopcredit.db"].dispose()


if __name__ == "__main__":
    main()
