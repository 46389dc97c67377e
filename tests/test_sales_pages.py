"""The sale pages: choose a customer, sell, receipt, list — all without JavaScript."""

from __future__ import annotations

import re
import uuid

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Shop, add_customer, add_product, csrf_token, fetch, sell
from webapp.embedded import DatabaseUrls

KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


def _form(client: FlaskClient, customer: uuid.UUID) -> tuple[str, str]:
    page = client.get(f"/sales/new?customer={customer}").get_data(as_text=True)
    match = KEY.search(page)
    assert match, page
    return csrf_token(client, f"/sales/new?customer={customer}"), match.group(1)


def _post(
    client: FlaskClient,
    customer: uuid.UUID,
    rows: list[tuple[str, str]],
    *,
    token: str,
    key: str,
    **extra: str,
) -> object:
    return client.post(
        "/sales/new",
        data={
            "csrf_token": token,
            "customer_id": str(customer),
            "idempotency_key": key,
            "product": [product for product, _ in rows],
            "quantity": [quantity for _, quantity in rows],
            **extra,
        },
    )


def test_choose_a_customer_by_name_or_phone(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    add_customer(database.admin, shop.business_id, "Grace Mensah", phone="+254700111222")
    add_customer(database.admin, shop.business_id, "Hassan Otieno", phone="+254799000000")
    add_customer(database.admin, shop.business_id, "Archie Archived", archived=True)

    page = clerk_client.get("/sales/new?q=grace").get_data(as_text=True)
    assert "Grace Mensah" in page and "Hassan Otieno" not in page
    page = clerk_client.get("/sales/new?q=799").get_data(as_text=True)
    assert "Hassan Otieno" in page and "Grace Mensah" not in page
    page = clerk_client.get("/sales/new?q=%25").get_data(as_text=True)  # a literal %
    assert "Grace Mensah" not in page
    page = clerk_client.get("/sales/new").get_data(as_text=True)
    assert "Grace Mensah" in page and "Hassan Otieno" in page
    assert "Archie Archived" not in page


def test_the_form_shows_the_customers_credit(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="250.00")
    fetch(database.admin, "UPDATE customers SET balance = 40 RETURNING id")
    page = clerk_client.get(f"/sales/new?customer={customer}").get_data(as_text=True)
    assert "$40.00" in page and "$250.00" in page and "$210.00" in page
    # Only the lines chosen are in the page (none yet), whatever the catalog's size.
    assert '<label for="find">Product, SKU or barcode</label>' in page
    assert 'name="product"' not in page.split("<template")[0]


def test_record_a_two_item_sale_and_see_the_receipt(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace Mensah")
    rice = add_product(database.admin, shop.business_id, "Rice 5 kg", price="9.50")
    oil = add_product(database.admin, shop.business_id, "Cooking oil", price="3.90")
    token, key = _form(clerk_client, customer)

    response = _post(
        clerk_client,
        customer,
        [(str(rice), "2"), (str(oil), "1"), ("", "1")],
        token=token,
        key=key,
    )

    assert response.status_code == 302
    order_id = fetch(database.admin, "SELECT id FROM orders")[0][0]
    assert response.headers["Location"] == f"/sales/{order_id}"
    receipt = clerk_client.get(f"/sales/{order_id}").get_data(as_text=True)
    for text in (
        "Alpha Store",
        "Grace Mensah",
        "Carl Clerk",
        "Rice 5 kg",
        "Cooking oil",
        "$19.00",
        "$3.90",
        "$22.90",
        "now owes",
    ):
        assert text in receipt, text


def test_a_resent_form_records_once(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    token, key = _form(clerk_client, customer)
    first = _post(clerk_client, customer, [(str(product), "1")], token=token, key=key)
    second = _post(clerk_client, customer, [(str(product), "1")], token=token, key=key)
    assert first.headers["Location"] == second.headers["Location"]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(1,)]


def test_over_the_limit_is_refused_with_the_reason_and_the_entries_kept(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace", credit_limit="20.00")
    product = add_product(database.admin, shop.business_id, "Rice", price="9.50")
    token, key = _form(clerk_client, customer)

    response = _post(clerk_client, customer, [(str(product), "3")], token=token, key=key)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "over the credit limit" in page
    assert "Available credit is $20.00" in page
    assert f'<input type="hidden" name="product" value="{product}">' in page
    assert 'value="3"' in page
    assert key in page  # the same key: a corrected resubmission is still one sale
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


def test_the_line_at_fault_gets_the_message(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    rice = add_product(database.admin, shop.business_id, "Rice", stock=2)
    oil = add_product(database.admin, shop.business_id, "Oil", stock=9)
    token, key = _form(clerk_client, customer)

    page = _post(
        clerk_client,
        customer,
        [(str(oil), "1"), (str(rice), "5")],
        token=token,
        key=key,
    ).get_data(as_text=True)
    assert 'id="line-error-2">Only 2 left in stock.' in page

    for bad in ("0", "-1", "1.5", "abc", "1000000000000"):
        response = _post(
            clerk_client, customer, [(str(oil), "1"), (str(rice), bad)], token=token, key=key
        )
        assert response.status_code == 409
        assert 'id="line-error-2">The quantity must be a whole number from 1 to 100000.' in (
            response.get_data(as_text=True)
        ), bad
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


def test_no_product_chosen(clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop) -> None:
    customer = add_customer(database.admin, shop.business_id)
    token, key = _form(clerk_client, customer)
    response = _post(clerk_client, customer, [("", "1"), ("", "2")], token=token, key=key)
    assert response.status_code == 400
    assert "Add a product (type its name, SKU or barcode), or enter an amount." in (
        response.get_data(as_text=True)
    )
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


def test_remove_without_javascript_keeps_the_other_lines(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    rice = add_product(database.admin, shop.business_id, "Rice")
    oil = add_product(database.admin, shop.business_id, "Oil")
    token, key = _form(clerk_client, customer)
    rows = [(str(rice), "4"), (str(oil), "2")]
    page = _post(clerk_client, customer, rows, token=token, key=key, remove="0")
    assert page.status_code == 200
    html = page.get_data(as_text=True).split("<template")[0]
    assert f'name="product" value="{oil}"' in html and f'value="{rice}"' not in html
    assert 'value="2"' in html
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


def test_a_tampered_key_or_customer_is_handled(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    product = add_product(database.admin, shop.business_id)
    foreign = add_customer(database.admin, other_shop.business_id, "Not yours")
    token, _ = _form(clerk_client, customer)

    response = _post(clerk_client, customer, [(str(product), "1")], token=token, key="nope")
    assert response.status_code == 400
    assert "out of date" in response.get_data(as_text=True)

    key = str(uuid.uuid4())
    for target in (foreign, uuid.uuid4()):
        response = _post(clerk_client, target, [(str(product), "1")], token=token, key=key)
        assert response.status_code == 404
    assert clerk_client.get(f"/sales/new?customer={foreign}").status_code == 404
    assert clerk_client.get("/sales/new?customer=not-a-uuid").status_code == 404
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


def test_another_business_receipt_is_not_found(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    assert clerk_client.get(f"/sales/{uuid.uuid4()}").status_code == 404
    assert clerk_client.get("/sales/not-a-uuid").status_code == 404


def test_sales_list_filters_pages_and_totals(
    app: Flask, clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    grace = add_customer(database.admin, shop.business_id, "Grace")
    hassan = add_customer(database.admin, shop.business_id, "Hassan")
    product = add_product(database.admin, shop.business_id, price="2.00", stock=1000)
    for customer, count in ((grace, 53), (hassan, 2)):
        for _ in range(count):
            sell(app, shop, customer, product, 1)
    # Two of Grace's sales were a week ago.
    fetch(
        database.admin,
        "UPDATE orders SET created_at = now() - interval '7 days' WHERE id IN "
        "(SELECT id FROM orders WHERE customer_id = %s LIMIT 2) RETURNING id",
        grace,
    )

    page = clerk_client.get("/sales").get_data(as_text=True)
    assert "<strong>55</strong> sales, together <strong>$110.00</strong>" in page
    assert page.count("/sales/") - page.count("/sales/new") >= 50
    assert 'rel="next"' in page
    second = clerk_client.get("/sales?page=2").get_data(as_text=True)
    assert 'rel="prev"' in second and 'rel="next"' not in second

    page = clerk_client.get("/sales?q=hass").get_data(as_text=True)
    assert "<strong>2</strong> sales, together <strong>$4.00</strong>" in page
    page = clerk_client.get(f"/sales?customer={grace}").get_data(as_text=True)
    assert "<strong>53</strong> sales" in page

    week_ago = fetch(database.admin, "SELECT (now() - interval '7 days')::date")[0][0]
    page = clerk_client.get(f"/sales?date_from={week_ago}&date_to={week_ago}").get_data(
        as_text=True
    )
    assert "<strong>2</strong> sales, together <strong>$4.00</strong>" in page
    page = clerk_client.get("/sales?date_from=yesterday&page=abc").get_data(as_text=True)
    assert "Enter a date like" in page
    assert "<strong>55</strong> sales" in page  # a bad date filters nothing


def test_every_line_at_fault_is_flagged_at_once_with_a_summary(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="1000.00")
    rice = add_product(database.admin, shop.business_id, "Rice", stock=2)
    oil = add_product(database.admin, shop.business_id, "Oil", stock=9)
    salt = add_product(database.admin, shop.business_id, "Salt", stock=1)
    token, key = _form(clerk_client, customer)

    bad = _post(
        clerk_client, customer, [(str(rice), "abc"), (str(oil), "-2")], token=token, key=key
    )
    assert bad.status_code == 409
    page = bad.get_data(as_text=True)
    assert 'id="line-error-1">The quantity must be a whole number from 1 to 100000.' in page
    assert 'id="line-error-2">The quantity must be a whole number from 1 to 100000.' in page
    assert "Not recorded: check the lines marked below." in page

    rows = [(str(rice), "5"), (str(oil), "1"), (str(salt), "3")]
    short = _post(clerk_client, customer, rows, token=token, key=key)
    assert short.status_code == 409
    page = short.get_data(as_text=True)
    assert 'id="line-error-1">Only 2 left in stock.' in page
    assert 'id="line-error-3">Only 1 left in stock.' in page
    assert 'id="line-error-2"' not in page
    assert "Not recorded: 2 lines are short of stock." in page
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


def test_lines_are_shown_and_sold_in_the_order_entered(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="1000.00")
    names = ["Zucchini", "Apples", "Milk"]
    ids = [str(add_product(database.admin, shop.business_id, name)) for name in names]
    token, key = _form(clerk_client, customer)
    sold = _post(clerk_client, customer, [(i, "1") for i in ids], token=token, key=key)
    receipt = clerk_client.get(sold.headers["Location"]).get_data(as_text=True)
    places = [receipt.index(f"<td>{name}</td>") for name in names]
    assert places == sorted(places)


def test_the_same_sale_again_within_minutes_asks_first(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    """Back after a sale, then Record sale: the form comes back with a fresh key, so only the
    sale itself can tell that it is the same one again."""
    customer = add_customer(database.admin, shop.business_id, credit_limit="1000.00")
    rice = str(add_product(database.admin, shop.business_id, "Rice"))
    oil = str(add_product(database.admin, shop.business_id, "Oil"))
    token, key = _form(clerk_client, customer)
    first = _post(clerk_client, customer, [(rice, "2"), (oil, "1")], token=token, key=key)
    assert first.status_code == 302

    _, again_key = _form(clerk_client, customer)
    again = _post(clerk_client, customer, [(oil, "1"), (rice, "2")], token=token, key=again_key)
    assert again.status_code == 409
    page = again.get_data(as_text=True)
    assert "Record it again?" in page and first.headers["Location"] in page
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(1,)]

    first_id = first.headers["Location"].rsplit("/", 1)[1]
    confirmed = _post(
        clerk_client,
        customer,
        [(oil, "1"), (rice, "2")],
        token=token,
        key=again_key,
        repeat_of=first_id,
    )
    assert (
        confirmed.status_code == 302 and confirmed.headers["Location"] != first.headers["Location"]
    )
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(2,)]

    # A different sale, or the same one sent again with its own key, is not asked about.
    _, other_key = _form(clerk_client, customer)
    other = _post(clerk_client, customer, [(rice, "3")], token=token, key=other_key)
    assert other.status_code == 302
    resent = _post(clerk_client, customer, [(rice, "3")], token=token, key=other_key)
    assert resent.headers["Location"] == other.headers["Location"]
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(3,)]


def test_a_quick_entry_is_an_amount_with_a_note(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace", credit_limit="100.00")
    rice = str(add_product(database.admin, shop.business_id, "Rice"))
    token, key = _form(clerk_client, customer)

    no_note = _post(clerk_client, customer, [], token=token, key=key, amount="30")
    assert no_note.status_code == 409
    assert 'id="note-error">Say what the amount is for in the note.' in no_note.get_data(
        as_text=True
    )
    both = _post(clerk_client, customer, [(rice, "1")], token=token, key=key, amount="30")
    assert both.status_code == 400
    assert "either products or an amount" in both.get_data(as_text=True)
    over = _post(clerk_client, customer, [], token=token, key=key, amount="100.01", note="goods")
    assert over.status_code == 409 and "over the credit limit" in over.get_data(as_text=True)
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]

    made = _post(clerk_client, customer, [], token=token, key=key, amount="30", note="goods, 3 Dec")
    assert made.status_code == 302
    receipt = clerk_client.get(made.headers["Location"]).get_data(as_text=True)
    assert "goods, 3 Dec" in receipt and "$30.00" in receipt
    statement = clerk_client.get(f"/customers/{customer}").get_data(as_text=True)
    assert "Sale 1</a>: goods, 3 Dec" in statement


def test_the_sale_page_says_why_there_is_no_credit_and_who_can_change_it(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Walk-in", credit_limit="0.00")
    page = clerk_client.get(f"/sales/new?customer={customer}").get_data(as_text=True)
    assert "No credit available: the credit limit is $0.00. An owner can set one on Edit." in page
    chooser = clerk_client.get("/sales/new?q=nobody-at-all").get_data(as_text=True)
    assert 'href="/customers/new?then=sale"' in chooser


def test_a_form_whose_key_recorded_another_sale_is_out_of_date(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="1000.00")
    rice = str(add_product(database.admin, shop.business_id, "Rice"))
    token, key = _form(clerk_client, customer)
    assert _post(clerk_client, customer, [(rice, "1")], token=token, key=key).status_code == 302
    changed = _post(clerk_client, customer, [(rice, "7")], token=token, key=key)
    assert changed.status_code == 409
    page = changed.get_data(as_text=True)
    assert "This form was out of date" in page
    fresh = KEY.search(page)
    assert fresh and fresh.group(1) != key  # sent again, it records the sale it shows
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(1,)]
