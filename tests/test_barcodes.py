"""Barcodes: on the product pages, the API and CSV imports; one code (SKU or barcode, any case,
a UPC = its EAN-13) is one product's in a shop, enforced by the database, also when two
requests race for it; migration 0006 registers the SKUs already there."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    Shop,
    add_product,
    api_auth,
    at_once,
    fetch,
    field_errors,
    ledger_violations,
    migrated_before,
    old_shop,
    tenant_session,
)
from tests.test_import import preview_and_import, row_html, upload
from tests.test_products import _create, _edit
from webapp import embedded, migrate
from webapp.embedded import DatabaseUrls
from webapp.imports import csvfile
from webapp.products import operations


def _codes(database: DatabaseUrls) -> list[tuple[object, ...]]:
    return fetch(
        database.admin,
        "SELECT p.name, c.code, c.kind FROM product_codes c JOIN products p "
        "ON p.business_id = c.business_id AND p.id = c.product_id ORDER BY 1, 2",
    )


def test_an_owner_adds_and_edits_a_barcode_shown_on_the_products_page(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    response = _create(owner_client, name="Rice", sku="RICE-5", barcode=" 5012345678900 ")
    assert response.status_code == 302
    [(product_id, barcode)] = fetch(database.admin, "SELECT id, barcode FROM products")
    assert barcode == "5012345678900"
    page = owner_client.get(f"/products/{product_id}").get_data(as_text=True)
    assert "<dt>Barcode</dt><dd>5012345678900</dd>" in page
    edit_page = owner_client.get(f"/products/{product_id}/edit").get_data(as_text=True)
    assert 'value="5012345678900"' in edit_page
    assert _codes(database) == [("Rice", "5012345678900", "barcode"), ("Rice", "rice-5", "sku")]

    # Changed, then taken away: the register follows.
    response = _edit(owner_client, product_id, name="Rice", sku="RICE-5", barcode="036000291452")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert _codes(database) == [("Rice", "0036000291452", "barcode"), ("Rice", "rice-5", "sku")]
    _edit(owner_client, product_id, name="Rice", sku="", barcode="")
    assert _codes(database) == []
    assert fetch(database.admin, "SELECT sku, barcode FROM products") == [(None, None)]
    # A product's SKU may be its own barcode.
    response = _edit(owner_client, product_id, name="Rice", sku="x1", barcode="X1")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert _codes(database) == [("Rice", "x1", "barcode")]


def test_a_barcode_with_spaces_or_too_long_is_explained(owner_client: FlaskClient) -> None:
    response = _create(owner_client, name="Rice", barcode="501 234")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_errors(page, "barcode") == [
        "A barcode has no spaces: type or scan it as it is printed."
    ]
    response = _create(owner_client, name="Rice", barcode="9" * 65)
    assert field_errors(response.get_data(as_text=True), "barcode") == [
        "The barcode is at most 64 characters."
    ]


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({"barcode": "5012345678900"}, {"barcode": "5012345678900"}, "barcode"),
        ({"barcode": "ABC-1"}, {"barcode": "abc-1"}, "barcode"),  # any case
        ({"barcode": "036000291452"}, {"barcode": "0036000291452"}, "barcode"),  # UPC = EAN-13
        ({"barcode": "0036000291452"}, {"barcode": "036000291452"}, "barcode"),
        ({"sku": "RICE-5"}, {"barcode": "rice-5"}, "barcode"),  # a barcode = another's SKU
        ({"barcode": "RICE-5"}, {"sku": "rice-5"}, "sku"),  # a SKU = another's barcode
        ({"sku": "036000291452"}, {"sku": "0036000291452"}, "sku"),  # SKUs that are one UPC
    ],
)
def test_a_code_another_product_has_is_said_next_to_the_field(
    owner_client: FlaskClient,
    database: DatabaseUrls,
    shop: Shop,
    first: dict[str, str],
    second: dict[str, str],
    field: str,
) -> None:
    assert _create(owner_client, name="Rice", **{"sku": "", **first}).status_code == 302
    response = _create(owner_client, name="Beans", **{"sku": "", **second})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_errors(page, field) == ["Rice already has this code; each product needs its own."]
    assert fetch(database.admin, "SELECT name FROM products") == [("Rice",)]

    # Editing another product to take it: the same, and nothing changes.
    beans = add_product(database.admin, shop.business_id, "Beans")
    response = _edit(owner_client, beans, name="Beans", **{"sku": "", **second})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_errors(page, field) == ["Rice already has this code; each product needs its own."]
    assert fetch(database.admin, "SELECT sku, barcode FROM products WHERE id = %s", beans) == [
        (None, None)
    ]
    assert ledger_violations(database.admin) == []


def test_another_shop_may_have_the_same_codes(
    owner_client: FlaskClient, database: DatabaseUrls, other_shop: Shop
) -> None:
    add_product(
        database.admin, other_shop.business_id, "Their rice", sku="RICE-5", barcode="5012345678900"
    )
    response = _create(owner_client, name="Rice", sku="RICE-5", barcode="5012345678900")
    assert response.status_code == 302


# --- The API -----------------------------------------------------------------------------------


def test_api_takes_a_barcode_and_answers_409_for_one_in_use(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    client, auth = app.test_client(), api_auth(app, shop.slug)
    made = client.post(
        "/api/products",
        json={"name": "Cola", "barcode": "036000291452", "price": "1.20"},
        headers=auth,
    )
    assert made.status_code == 201
    assert made.get_json()["barcode"] == "036000291452"
    cola = made.get_json()["id"]
    assert client.get(f"/api/products/{cola}", headers=auth).get_json()["barcode"] == "036000291452"

    for body, field in (
        ({"barcode": "0036000291452"}, "barcode"),
        ({"sku": "036000291452"}, "sku"),
    ):
        response = client.post(
            "/api/products", json={"name": "Other", "price": "1", **body}, headers=auth
        )
        assert response.status_code == 409
        assert response.get_json() == {
            "error": f"{field} already used",
            "details": {field: "Cola already has this code; each product needs its own."},
            "product_id": cola,
        }
    response = client.post(
        "/api/products", json={"name": "Other", "price": "1", "barcode": 36000291452}, headers=auth
    )
    assert response.status_code == 400
    assert response.get_json()["details"] == {"barcode": "The barcode must be text."}
    assert fetch(database.admin, "SELECT count(*) FROM products") == [(1,)]


def test_two_requests_racing_for_one_barcode_make_one_product_and_one_409(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    auth = api_auth(app, shop.slug)

    def post(index: int) -> tuple[int, dict[str, object]]:
        body = {"name": f"Cola {index}", "barcode": "5449000000996", "price": "1.00", "stock": 3}
        response = app.test_client().post("/api/products", json=body, headers=auth)
        return response.status_code, response.get_json()

    for _ in range(3):  # a race is a matter of luck: run it a few times
        with psycopg.connect(database.admin) as conn:
            conn.execute("TRUNCATE products CASCADE")
        answers = at_once(2, post)
        statuses = sorted(a[0] for a in answers if isinstance(a, tuple))
        assert statuses == [201, 409], answers
        made = next(a[1] for a in answers if isinstance(a, tuple) and a[0] == 201)
        refused = next(a[1] for a in answers if isinstance(a, tuple) and a[0] == 409)
        assert refused["error"] == "barcode already used"
        assert refused["product_id"] == made["id"]
        assert fetch(database.admin, "SELECT count(*) FROM products") == [(1,)]
    assert ledger_violations(database.admin) == []


def test_many_owners_racing_for_one_code_as_sku_and_barcode_make_one_product(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    """Half send the code as a SKU, half as a barcode (one of them the UPC, one the EAN-13):
    the register's key lets one through and names it to the others."""

    def add(index: int) -> operations.Outcome:
        field = "sku" if index % 2 else "barcode"
        code = "036000291452" if index % 3 else "0036000291452"
        with tenant_session(app, shop.business_id) as session:
            raw = {"name": f"Cola {index}", field: code, "price": "1.00"}
            return operations.add_product(session, raw, user_id=shop.owner_id, key=uuid.uuid4())

    outcomes = at_once(8, add)
    made = [o for o in outcomes if isinstance(o, operations.Outcome) and o.created]
    refused = [o for o in outcomes if isinstance(o, operations.Outcome) and o.holder is not None]
    assert len(made) == 1 and len(refused) == 7, outcomes
    assert {o.holder.id for o in refused if o.holder} == {made[0].product.id}  # type: ignore[union-attr]
    assert fetch(database.admin, "SELECT count(*) FROM product_codes") == [(1,)]


# --- CSV import --------------------------------------------------------------------------------


def test_import_takes_a_barcode_column(owner_client: FlaskClient, database: DatabaseUrls) -> None:
    content = "name,sku,EAN,price,stock\nRice,R-1,5012345678900,9.50,5\nSalt,,,0.50,1\n"
    response = preview_and_import(owner_client, "products", content)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT name, sku, barcode FROM products ORDER BY name") == [
        ("Rice", "R-1", "5012345678900"),
        ("Salt", None, None),
    ]
    assert _codes(database) == [("Rice", "5012345678900", "barcode"), ("Rice", "r-1", "sku")]
    example = owner_client.get("/import/products/example.csv").get_data(as_text=True)
    assert example.splitlines()[0] == "name,sku,barcode,price,stock"


def test_import_preview_names_codes_in_use_or_twice_in_the_file(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    add_product(database.admin, shop.business_id, "Cola", barcode="036000291452")
    add_product(database.admin, shop.business_id, "Tea", sku="TEA-1")
    content = (
        "name,sku,barcode,price\n"
        "A,,0036000291452,1\n"  # Cola's barcode, as an EAN-13
        "B,tea-1x,TEA-1,1\n"  # Tea's SKU as a barcode
        "C,X-9,4006381333931,1\n"
        "D,,x-9,1\n"  # row 4's SKU as a barcode
        "E,4006381333931,,1\n"  # row 4's barcode as a SKU
        "F,Z-1,z-1,1\n"  # its own SKU as its barcode: fine
    )
    response = upload(owner_client, "products", content)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "“Cola” already has the code 0036000291452." in row_html(page, 2)
    assert "“Tea” already has the code TEA-1." in row_html(page, 3)
    assert "already" not in row_html(page, 4) and "also on row" not in row_html(page, 4)
    assert "The code x-9 is also on row 4 of this file" in row_html(page, 5)
    assert "The code 4006381333931 is also on row 4 of this file" in row_html(page, 6)
    assert "already" not in row_html(page, 7) and "also on row" not in row_html(page, 7)
    assert 'name="payload"' not in page
    assert fetch(database.admin, "SELECT count(*) FROM products") == [(2,)]


def test_a_code_taken_during_the_import_rolls_everything_back(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_product(database.admin, shop.business_id, "Cola", barcode="036000291452")
    # The preview does not see it (as if it were given between the check and the insert).
    monkeypatch.setattr(csvfile, "codes_held", lambda _session, _codes: {})
    content = "name,barcode,price,stock\nRice,501,9.50,5\nCola zero,0036000291452,1.00,3\n"
    response = preview_and_import(owner_client, "products", content)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Nothing was imported: row 3 could not be saved" in page
    assert "“Cola” was given the code 0036000291452 meanwhile." in row_html(page, 3)
    assert fetch(database.admin, "SELECT name FROM products") == [("Cola",)]
    assert fetch(database.admin, "SELECT count(*) FROM imports") == [(0,)]


# --- Migration 0006 on a shop that has products ------------------------------------------------


def test_0006_registers_the_skus_already_there(
    fresh_database: Callable[[], embedded.DatabaseUrls], tmp_path: Path
) -> None:
    urls = fresh_database()
    migrated_before(urls.admin, "0005", tmp_path)
    with psycopg.connect(urls.admin) as conn:
        business = old_shop(conn)
        for name, sku, age in (
            ("Rice", "RICE-5", 3),
            ("Cola", "036000291452", 2),
            ("Cola again", "0036000291452", 1),  # the same code by the UPC rule, made later
            ("Crème fraîche", None, 1),
        ):
            conn.execute(
                "INSERT INTO products (business_id, name, sku, price, created_at) "
                "VALUES (%s, %s, %s, 1, now() - make_interval(days => %s))",
                (business, name, sku, age),
            )

    migrate.upgrade(urls.admin)
    with psycopg.connect(urls.admin) as conn:
        codes = conn.execute(
            "SELECT p.name, c.code, c.kind FROM product_codes c JOIN products p "
            "ON p.id = c.product_id ORDER BY 1"
        ).fetchall()
        keys = conn.execute("SELECT name, name_key FROM products ORDER BY name").fetchall()
        # The newer of the two keeps its SKU, and changing its other fields still works.
        conn.execute("UPDATE products SET name = 'Cola 2', sku = sku WHERE name = 'Cola again'")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("UPDATE products SET barcode = '1' WHERE name = 'Cola 2'")
    assert codes == [("Cola", "0036000291452", "sku"), ("Rice", "rice-5", "sku")]
    assert keys == [
        ("Cola", "cola"),
        ("Cola again", "cola again"),
        ("Crème fraîche", "creme fraiche"),
        ("Rice", "rice"),
    ]


def test_the_app_role_reads_the_register_but_never_writes_it(
    database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice", sku="R-1")
    with psycopg.connect(database.app) as conn:
        conn.execute("SELECT set_config('app.business_id', %s, false)", (str(shop.business_id),))
        assert conn.execute("SELECT code FROM product_codes").fetchall() == [("r-1",)]
        for sql in (
            "INSERT INTO product_codes (business_id, code, product_id, kind) "
            "VALUES (current_business_id(), 'x', %s, 'sku')",
            "UPDATE product_codes SET code = 'x' WHERE product_id = %s",
            "DELETE FROM product_codes WHERE product_id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql, (product,))
            conn.rollback()
            conn.execute(
                "SELECT set_config('app.business_id', %s, false)", (str(shop.business_id),)
            )
