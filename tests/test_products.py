"""Product pages: the list (search, low stock, archived, pages), adding, editing, archiving, a
product's page; owners only for every change, another business's product is not there."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    at_once,
    csrf_token,
    fetch,
    ledger_violations,
    sell,
    tenant_session,
)
from webapp import ledger
from webapp.embedded import DatabaseUrls
from webapp.products import operations

KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


def _key(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = KEY.search(page)
    assert match, page
    return match.group(1)


def _create(client: FlaskClient, key: str | None = None, **fields: str) -> object:
    data = {"name": "Rice 5 kg", "sku": "RICE-5", "price": "9.50", "stock": "12", **fields}
    return client.post(
        "/products/new",
        data={
            "csrf_token": csrf_token(client, "/products/new"),
            "idempotency_key": key or _key(client, "/products/new"),
            **data,
        },
    )


def _edit(client: FlaskClient, product: uuid.UUID, **fields: str) -> object:
    path = f"/products/{product}/edit"
    data = {"name": "Rice 5 kg", "sku": "", "price": "10.00", **fields}
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def _products(database: DatabaseUrls) -> list[tuple[object, ...]]:
    return fetch(database.admin, "SELECT name, sku, price, stock, is_active FROM products")


def test_an_owner_adds_a_product_with_its_opening_stock(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    response = _create(owner_client)
    assert response.status_code == 302
    product_id = fetch(database.admin, "SELECT id FROM products")[0][0]
    assert response.headers["Location"] == f"/products/{product_id}"
    assert _products(database) == [("Rice 5 kg", "RICE-5", Decimal("9.50"), 12, True)]
    # The opening stock is the first line of the history, in the owner's name.
    assert fetch(
        database.admin, "SELECT change, reason, resulting_stock, created_by FROM stock_movements"
    ) == [(12, "opening", 12, shop.owner_id)]

    page = owner_client.get(f"/products/{product_id}").get_data(as_text=True)
    assert "Rice 5 kg added." in page
    for expected in ("RICE-5", "$9.50", "Opening stock", "+12", "Olive Owner"):
        assert expected in page, expected
    assert ledger_violations(database.admin) == []


def test_no_opening_stock_means_no_history_line(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    assert _create(owner_client, stock="", sku="").status_code == 302
    assert _products(database) == [("Rice 5 kg", None, Decimal("9.50"), 0, True)]
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(0,)]
    assert ledger_violations(database.admin) == []


def test_a_form_sent_twice_adds_one_product(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    key = _key(owner_client, "/products/new")
    first = _create(owner_client, key)
    again = _create(owner_client, key)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert fetch(database.admin, "SELECT count(*) FROM products") == [(1,)]
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(1,)]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "  "}, "name", "Enter the product&#39;s name."),
        ({"name": "x" * 121}, "name", "The name is at most 120 characters."),
        ({"sku": "s" * 65}, "sku", "The SKU is at most 64 characters."),
        ({"price": ""}, "price", "Enter the price, such as 12.50."),
        ({"price": "abc"}, "price", "The price must be an amount such as 12.50."),
        ({"price": "-1"}, "price", "The price cannot be negative."),
        ({"price": "1.005"}, "price", "The price has at most 2 decimals."),
        ({"price": "99999999999"}, "price", "The price is too large."),
        ({"stock": "2.5"}, "stock", "The stock is a whole number from 0 up."),
        ({"stock": "-3"}, "stock", "The stock is a whole number from 0 up."),
        ({"stock": "2000000"}, "stock", "The stock is at most 1,000,000."),
    ],
)
def test_bad_input_is_explained_next_to_the_field(
    owner_client: FlaskClient,
    database: DatabaseUrls,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = _create(owner_client, **fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<small class="error" id="{field}-error">{message}</small>' in page
    assert 'aria-invalid="true"' in page
    assert 'value="9.50"' in page or field == "price"  # what was entered is kept
    assert fetch(database.admin, "SELECT count(*) FROM products") == [(0,)]


def test_a_stale_form_without_a_key_is_sent_back(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    response = _create(owner_client, key="not-a-key")
    assert response.status_code == 400
    assert "This form was out of date" in response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT count(*) FROM products") == [(0,)]


def test_a_sku_is_unique_ignoring_case(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    assert _create(owner_client, name="Rice", sku="RICE-5").status_code == 302
    response = _create(owner_client, name="Other rice", sku="rice-5")
    assert response.status_code == 400
    assert "Rice already has this SKU" in response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT name FROM products") == [("Rice",)]

    # Editing another product to take it is refused the same way; its own SKU is fine.
    oil = add_product(database.admin, shop.business_id, "Oil")
    response = _edit(owner_client, oil, name="Oil", sku="Rice-5")
    assert response.status_code == 400
    assert "Rice already has this SKU" in response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT sku FROM products WHERE id = %s", oil) == [(None,)]
    rice = fetch(database.admin, "SELECT id FROM products WHERE name = 'Rice'")[0][0]
    assert _edit(owner_client, rice, name="Rice", sku="RICE-5", price="9.50").status_code == 302

    # Another business may use the same SKU.
    add_product(database.admin, other_shop.business_id, "Their rice")
    fetch(
        database.admin, "UPDATE products SET sku = 'RICE-5' WHERE name = 'Their rice' RETURNING id"
    )
    assert _create(owner_client, name="Brown rice", sku="BROWN-1").status_code == 302


def test_a_sku_taken_is_a_message_not_an_error(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    """The unique index decides (also between two owners at the same moment): its refusal
    becomes the message naming the product that has the SKU, on adding and on editing."""
    assert _create(owner_client, name="Rice", sku="RICE-5").status_code == 302
    response = _create(owner_client, name="Other rice", sku="Rice-5")
    assert response.status_code == 400
    assert "Rice already has this SKU" in response.get_data(as_text=True)
    rice = fetch(database.admin, "SELECT id FROM products")[0][0]
    add_product(database.admin, fetch(database.admin, "SELECT id FROM businesses")[0][0], "Oil")
    oil = fetch(database.admin, "SELECT id FROM products WHERE name = 'Oil'")[0][0]
    response = _edit(owner_client, oil, name="Oil", sku="rice-5")
    assert response.status_code == 400
    assert "Rice already has this SKU" in response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT id FROM products WHERE sku IS NOT NULL") == [(rice,)]
    assert ledger_violations(database.admin) == []


def test_many_owners_racing_for_one_sku_make_one_product(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    def add(index: int) -> operations.Outcome:
        with tenant_session(app, shop.business_id) as session:
            raw = {"name": f"Rice {index}", "sku": "RACE-1", "price": "1.00", "stock": "5"}
            return operations.add_product(session, raw, user_id=shop.owner_id, key=uuid.uuid4())

    outcomes = at_once(8, add)
    made = [o for o in outcomes if isinstance(o, operations.Outcome) and o.created]
    refused = [o for o in outcomes if isinstance(o, operations.Outcome) and o.holder is not None]
    assert len(made) == 1 and len(refused) == 7, outcomes
    assert {o.holder.id for o in refused if o.holder} == {made[0].product.id}  # type: ignore[union-attr]
    assert fetch(database.admin, "SELECT count(*) FROM products") == [(1,)]
    assert ledger_violations(database.admin) == []


def test_editing_changes_name_sku_and_price_but_never_the_stock(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice", price="9.50", stock=7)
    page = owner_client.get(f"/products/{product}/edit").get_data(as_text=True)
    assert 'value="Rice"' in page and 'value="9.50"' in page
    assert 'name="stock"' not in page

    response = _edit(owner_client, product, name="Rice 10 kg", sku="R10", price="18.00", stock="99")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/products/{product}"
    assert _products(database) == [("Rice 10 kg", "R10", Decimal("18.00"), 7, True)]
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(1,)]

    response = _edit(owner_client, product, name="", price="x")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter the product&#39;s name." in page
    assert "The price must be an amount such as 12.50." in page
    assert _products(database) == [("Rice 10 kg", "R10", Decimal("18.00"), 7, True)]


def test_a_new_price_leaves_past_sales_as_they_were(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace")
    product = add_product(database.admin, shop.business_id, "Rice", price="9.50", stock=10)
    before = sell(app, shop, customer, product, 2)

    assert _edit(owner_client, product, name="Rice", price="11.25").status_code == 302
    after = sell(app, shop, customer, product, 1)

    receipt = owner_client.get(f"/sales/{before}").get_data(as_text=True)
    assert "$9.50" in receipt and "$19.00" in receipt
    assert "$11.25" not in receipt
    assert fetch(
        database.admin, "SELECT unit_price FROM order_items WHERE order_id = %s", before
    ) == [(Decimal("9.50"),)]
    assert fetch(database.admin, "SELECT total FROM orders WHERE id = %s", before) == [
        (Decimal("19.00"),)
    ]
    assert fetch(database.admin, "SELECT total FROM orders WHERE id = %s", after) == [
        (Decimal("11.25"),)
    ]
    assert fetch(database.admin, "SELECT balance FROM customers") == [(Decimal("30.25"),)]
    assert ledger_violations(database.admin) == []


def test_archiving_takes_a_product_off_sale_and_unarchiving_brings_it_back(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace")
    product = add_product(database.admin, shop.business_id, "Lamp oil", stock=5)
    path = f"/products/{product}/archive"
    response = owner_client.post(path, data={"csrf_token": csrf_token(owner_client, "/products")})
    assert response.status_code == 302
    assert fetch(database.admin, "SELECT is_active FROM products") == [(False,)]

    page = owner_client.get(f"/products/{product}").get_data(as_text=True)
    assert "is archived: it can no longer be sold" in page
    assert "Put back on sale" in page
    assert "Lamp oil" not in owner_client.get("/products").get_data(as_text=True)
    listed = owner_client.get("/products?archived=y").get_data(as_text=True)
    assert "Lamp oil" in listed and "(archived)" in listed
    assert "Lamp oil" not in owner_client.get(f"/sales/new?customer={customer}").get_data(
        as_text=True
    )
    with pytest.raises(ledger.NotFound):
        sell(app, shop, customer, product, 1)

    path = f"/products/{product}/unarchive"
    response = owner_client.post(path, data={"csrf_token": csrf_token(owner_client, "/products")})
    assert response.status_code == 302
    assert fetch(database.admin, "SELECT is_active FROM products") == [(True,)]
    assert "Lamp oil" in owner_client.get(f"/sales/new?customer={customer}").get_data(as_text=True)
    sell(app, shop, customer, product, 1)
    assert fetch(database.admin, "SELECT stock FROM products") == [(4,)]
    assert ledger_violations(database.admin) == []


def _names(page: str) -> list[str]:
    return re.findall(r'<a href="/products/[0-9a-f-]{36}">([^<]+)</a>', page)


def test_the_list_finds_products_by_name_or_sku(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    for name, sku in (("Rice 5 kg", "R-5"), ("Brown rice", "BR_1"), ("Cooking oil", "OIL-1")):
        product = add_product(database.admin, shop.business_id, name)
        fetch(
            database.admin, "UPDATE products SET sku = %s WHERE id = %s RETURNING id", sku, product
        )

    assert _names(clerk_client.get("/products").get_data(as_text=True)) == [
        "Brown rice",
        "Cooking oil",
        "Rice 5 kg",
    ]
    # Best first: names starting with what was typed, then the rest (tests/test_search.py).
    assert _names(clerk_client.get("/products?q=RICE").get_data(as_text=True)) == [
        "Rice 5 kg",
        "Brown rice",
    ]
    assert _names(clerk_client.get("/products?q=oil-1").get_data(as_text=True)) == ["Cooking oil"]
    # % and _ are taken literally, not as patterns.
    assert _names(clerk_client.get("/products?q=R_5").get_data(as_text=True)) == []
    assert _names(clerk_client.get("/products?q=BR_").get_data(as_text=True)) == ["Brown rice"]
    assert _names(clerk_client.get("/products?q=%25").get_data(as_text=True)) == []
    assert "No product matches." in clerk_client.get("/products?q=zzz").get_data(as_text=True)


def test_the_low_stock_filter_and_highlight(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    fetch(database.admin, "UPDATE businesses SET low_stock_threshold = 5 RETURNING id")
    add_product(database.admin, shop.business_id, "Empty", stock=0)
    add_product(database.admin, shop.business_id, "Three", stock=3)
    add_product(database.admin, shop.business_id, "Five", stock=5)
    add_product(database.admin, shop.business_id, "Six", stock=6)
    add_product(database.admin, shop.business_id, "Archived one", stock=1, active=False)

    page = clerk_client.get("/products?low=y").get_data(as_text=True)
    assert _names(page) == ["Empty", "Five", "Three"]
    assert "at or below 5 in stock" in page

    page = clerk_client.get("/products").get_data(as_text=True)
    assert _names(page) == ["Empty", "Five", "Six", "Three"]
    low_rows = re.findall(r'<tr class="low-stock-row">\s*<td><a [^>]+>([^<]+)</a>', page)
    assert low_rows == ["Empty", "Five", "Three"]
    # Archived products are never "low": they are not for sale.
    page = clerk_client.get("/products?low=y&archived=y").get_data(as_text=True)
    assert _names(page) == ["Empty", "Five", "Three"]


def test_the_list_is_paged(clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop) -> None:
    for number in range(53):
        add_product(database.admin, shop.business_id, f"Item {number:02d}", stock=10)
    first = clerk_client.get("/products").get_data(as_text=True)
    assert len(_names(first)) == 50
    assert "<strong>53</strong> products" in first
    assert 'href="/products?page=2"' in first
    second = clerk_client.get("/products?page=2").get_data(as_text=True)
    assert _names(second) == ["Item 50", "Item 51", "Item 52"]


def test_a_products_page_shows_its_history_newest_first_with_links_to_sales(
    app: Flask, clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace")
    product = add_product(database.admin, shop.business_id, "Rice", stock=10)
    order = sell(app, shop, customer, product, 3)
    with tenant_session(app, shop.business_id) as session:
        ledger.adjust_stock(
            session,
            product_id=product,
            reason="delivery",
            change=20,
            note="From Mama Mboga",
            idempotency_key=uuid.uuid4(),
            user_id=shop.owner_id,
        )
    page = clerk_client.get(f"/products/{product}").get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>\s*<td>(.*?)</td>", page, re.S)
    assert [(who, re.sub(r"<[^>]+>", "", why)) for who, why in rows] == [
        ("Olive Owner", "Delivery"),
        ("Carl Clerk", "Sale"),
        ("Olive Owner", "Opening stock"),
    ]
    assert f'href="/sales/{order}"' in page
    assert "−3" in page and "+20" in page and "From Mama Mboga" in page
    assert ">27<" in page  # the stock after the delivery
    # A clerk sees the page but no way to change it.
    assert 'action="/products/' not in page and "Edit details" not in page


def test_the_history_is_paged(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice", stock=1)
    with tenant_session(app, shop.business_id) as session:
        for number in range(30):
            ledger.adjust_stock(
                session,
                product_id=product,
                reason="delivery",
                change=1,
                note=f"delivery {number}",
                idempotency_key=uuid.uuid4(),
                user_id=shop.owner_id,
            )
    first = owner_client.get(f"/products/{product}").get_data(as_text=True)
    assert "delivery 29" in first and "delivery 5" in first and "delivery 4<" not in first
    assert f'href="/products/{product}?page=2"' in first
    second = owner_client.get(f"/products/{product}?page=2").get_data(as_text=True)
    assert "delivery 4<" in second and "Opening stock" in second and "delivery 5<" not in second


def test_another_business_product_is_not_found(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    theirs = add_product(database.admin, other_shop.business_id, "Their secret", stock=5)
    token = csrf_token(owner_client, "/products")
    for path in (f"/products/{theirs}", f"/products/{theirs}/edit", f"/products/{uuid.uuid4()}"):
        assert owner_client.get(path).status_code == 404, path
    assert owner_client.get("/products/not-an-id").status_code == 404
    for action in ("archive", "unarchive", "edit"):
        response = owner_client.post(
            f"/products/{theirs}/{action}", data={"csrf_token": token, "name": "Mine", "price": "1"}
        )
        assert response.status_code == 404, action
    response = owner_client.post(
        f"/products/{theirs}/stock",
        data={
            "csrf_token": token,
            "idempotency_key": str(uuid.uuid4()),
            "reason": "damage",
            "quantity": "5",
        },
    )
    assert response.status_code == 404
    assert "Their secret" not in owner_client.get("/products?archived=y").get_data(as_text=True)
    assert fetch(database.admin, "SELECT name, stock, is_active FROM products") == [
        ("Their secret", 5, True)
    ]
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(1,)]


# --- Owners only: every route of the blueprint, every method ---------------------------------


def _blueprint_routes() -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) for every route of the products blueprint, read from a url_map
    at collection time, so a route added later is covered without editing this list."""
    from flask import Flask as ProbeApp

    from webapp.products import bp

    probe = ProbeApp(__name__)
    probe.register_blueprint(bp)
    return sorted(
        (rule.endpoint, rule.rule, method)
        for rule in probe.url_map.iter_rules()
        if rule.endpoint.startswith("products.")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    )


ROUTES = _blueprint_routes()
# What a clerk may do here: look.
CLERK_MAY = {("products.index", "GET"), ("products.detail", "GET")}


def test_the_walk_covers_the_blueprint_as_the_app_has_it(app: Flask) -> None:
    real = sorted(
        (rule.endpoint, rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("products.")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    )
    assert real == ROUTES
    assert {(endpoint, method) for endpoint, _, method in ROUTES} >= CLERK_MAY
    assert any(method == "POST" for _, _, method in ROUTES)


@pytest.mark.parametrize(
    ("endpoint", "rule", "method"), ROUTES, ids=[f"{m} {r}" for _, r, m in ROUTES]
)
def test_a_clerk_may_look_but_never_change(
    clerk_client: FlaskClient,
    database: DatabaseUrls,
    shop: Shop,
    endpoint: str,
    rule: str,
    method: str,
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice", price="9.50", stock=10)
    path = rule.replace("<uuid:product_id>", str(product))
    assert "<" not in path, f"{rule}: a parameter this test does not fill"
    before = (_products(database), fetch(database.admin, "SELECT count(*) FROM stock_movements"))
    data = {
        "csrf_token": csrf_token(clerk_client, "/products"),
        "idempotency_key": str(uuid.uuid4()),
        "name": "Clerk's rice",
        "sku": "CLERK",
        "price": "0.01",
        "stock": "50",
        "reason": "delivery",
        "quantity": "50",
    }
    response = clerk_client.open(path, method=method, data=data if method != "GET" else None)
    if (endpoint, method) in CLERK_MAY:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "Not allowed" in response.get_data(as_text=True)
    after = (_products(database), fetch(database.admin, "SELECT count(*) FROM stock_movements"))
    assert after == before


def test_a_clerk_sees_no_buttons_that_would_be_refused(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    product = add_product(database.admin, shop.business_id, "Rice")
    listing = clerk_client.get("/products").get_data(as_text=True)
    assert "Add a product" not in listing and "/products/new" not in listing
    page = clerk_client.get(f"/products/{product}").get_data(as_text=True)
    for owner_only in ("Edit details", "Archive", "Change the stock", 'name="quantity"'):
        assert owner_only not in page, owner_only
    assert "Products" in page  # the menu lists the page for clerks too
