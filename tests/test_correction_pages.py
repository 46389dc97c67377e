"""The correction pages: Return items / Void sale from a sale's receipt, the return's receipt,
and an owner's Reverse payment, through the real app and database."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import psycopg
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    csrf_token,
    fetch,
    ledger_violations,
    login,
    pay,
    sell,
    tenant_session,
)
from webapp import ledger
from webapp.embedded import DatabaseUrls

KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')


def _sale(app: Flask, database: DatabaseUrls, shop: Shop) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """Rice ×3 (10.00) and oil ×2 (4.50) sold by the clerk to Grace: the sale of 39.00."""
    customer = add_customer(database.admin, shop.business_id, "Grace Mensah")
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00", stock=20)
    oil = add_product(database.admin, shop.business_id, "Oil", price="4.50", stock=20)
    with tenant_session(app, shop.business_id) as session:
        order = ledger.purchase(
            session,
            customer_id=customer,
            lines=[ledger.Line(rice, 3), ledger.Line(oil, 2)],
            idempotency_key=uuid.uuid4(),
            user_id=shop.clerk_id,
        ).order_id
    return customer, rice, order


def _post(client: FlaskClient, path: str, **fields: str):
    page = client.get(path).get_data(as_text=True)
    key = KEY.search(page)
    assert key, page
    data = {"csrf_token": csrf_token(client, path), "idempotency_key": key.group(1)}
    data.update(fields)
    return client.post(path, data=data)


def test_return_an_item_from_the_receipt_and_see_it_everywhere(
    app: Flask, database: DatabaseUrls, shop: Shop, clerk_client: FlaskClient
) -> None:
    customer, rice, order = _sale(app, database, shop)
    receipt = clerk_client.get(f"/sales/{order}").get_data(as_text=True)
    assert "Sale 1" in receipt
    assert f"/sales/{order}/return" in receipt and f"/sales/{order}/void" in receipt

    response = _post(
        clerk_client, f"/sales/{order}/return", **{f"qty-{rice}": "1", "reason": "Torn bag"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = clerk_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Return 1" in page and "Torn bag" in page and "Rice" in page
    assert fetch(database.admin, "SELECT balance FROM customers WHERE id = %s", customer) == [
        (Decimal("29.00"),)
    ]
    assert fetch(database.admin, "SELECT stock FROM products WHERE id = %s", rice) == [(18,)]
    receipt = clerk_client.get(f"/sales/{order}").get_data(as_text=True)
    assert "Return 1" in receipt
    statement = clerk_client.get(f"/customers/{customer}").get_data(as_text=True)
    assert "Return 1" in statement
    assert ledger_violations(database.admin) == []


def test_bad_quantities_and_a_missing_reason_are_explained_and_change_nothing(
    app: Flask, database: DatabaseUrls, shop: Shop, owner_client: FlaskClient
) -> None:
    _, rice, order = _sale(app, database, shop)
    path = f"/sales/{order}/return"
    for fields, message in [
        ({f"qty-{rice}": "4", "reason": "x"}, "At most 3 can come back."),
        ({f"qty-{rice}": "-1", "reason": "x"}, "Enter a whole number."),
        ({f"qty-{rice}": "", "reason": "x"}, "Enter how many of an item come back."),
        ({f"qty-{rice}": "1", "reason": ""}, "Say why."),
    ]:
        response = _post(owner_client, path, **fields)
        assert response.status_code == 400, fields
        assert message in response.get_data(as_text=True), fields
    assert fetch(database.admin, "SELECT count(*) FROM returns") == [(0,)]


def test_a_clerk_cannot_void_after_the_shops_minutes(
    app: Flask, database: DatabaseUrls, shop: Shop, clerk_client: FlaskClient
) -> None:
    _, _, order = _sale(app, database, shop)
    with psycopg.connect(database.admin) as conn:
        conn.execute(
            "UPDATE orders SET created_at = now() - interval '31 minutes' WHERE id = %s", (order,)
        )
    receipt = clerk_client.get(f"/sales/{order}").get_data(as_text=True)
    assert f"/sales/{order}/void" not in receipt
    page = clerk_client.get(f"/sales/{order}/void")
    assert "Ask an owner" in page.get_data(as_text=True)
    # Sent anyway (an old tab): the ledger refuses it.
    response = clerk_client.post(
        f"/sales/{order}/void",
        data={
            "csrf_token": csrf_token(clerk_client, f"/sales/{order}"),
            "idempotency_key": str(uuid.uuid4()),
            "reason": "x",
            "refund_method": "cash",
        },
    )
    assert response.status_code == 403
    assert "30 minutes" in response.get_data(as_text=True)
    assert fetch(database.admin, "SELECT count(*) FROM returns") == [(0,)]


def test_an_owner_voids_a_paid_sale_and_the_refund_is_on_the_receipt(
    app: Flask, database: DatabaseUrls, shop: Shop, owner_client: FlaskClient
) -> None:
    customer, _, order = _sale(app, database, shop)
    payment = pay(app, shop, customer, Decimal("39.00"))
    response = _post(
        owner_client, f"/sales/{order}/void", reason="Wrong customer", refund_method="mobile_money"
    )
    assert response.status_code == 302
    page = owner_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sale voided" in page and "Refunded (Mobile money)" in page
    assert "Voided" in owner_client.get(f"/sales/{order}").get_data(as_text=True)
    # The payment's receipt says where its money went.
    receipt = owner_client.get(f"/payments/{payment.payment_id}").get_data(as_text=True)
    assert "Refunded on" in receipt and "Return 1</a>" in receipt
    assert ledger_violations(database.admin) == []


def test_an_owner_reverses_a_payment_and_a_clerk_cannot(
    app: Flask, database: DatabaseUrls, shop: Shop, owner_client: FlaskClient
) -> None:
    customer, _, _ = _sale(app, database, shop)
    payment = pay(app, shop, customer, Decimal("20.00"))
    path = f"/payments/{payment.payment_id}/reverse"

    assert _post(owner_client, path, reason="").status_code == 400
    response = _post(owner_client, path, reason="Cheque bounced")
    assert response.status_code == 302
    page = owner_client.get(f"/payments/{payment.payment_id}").get_data(as_text=True)
    assert "Reversed" in page and "Cheque bounced" in page
    assert fetch(database.admin, "SELECT balance FROM customers") == [(Decimal("39.00"),)]

    clerk = app.test_client()
    login(clerk, shop.slug, shop.clerk_email)
    assert clerk.get(path).status_code == 403


def _sell_over_the_limit(client: FlaskClient, customer: uuid.UUID, rice: uuid.UUID, **extra: str):
    path = f"/sales/new?customer={customer}"
    page = client.get(path).get_data(as_text=True)
    key = KEY.search(page)
    assert key, page
    return client.post(
        "/sales/new",
        data={
            "csrf_token": csrf_token(client, path),
            "customer_id": str(customer),
            "idempotency_key": key.group(1),
            "product": [str(rice)],
            "quantity": ["5"],
            **extra,
        },
    )


def test_an_owner_records_a_sale_over_the_limit_with_a_reason(
    app: Flask, database: DatabaseUrls, shop: Shop, owner_client: FlaskClient
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace", credit_limit="20.00")
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00", stock=20)

    refused = _sell_over_the_limit(owner_client, customer, rice)
    assert refused.status_code == 409
    assert "Record it anyway" in refused.get_data(as_text=True)
    no_reason = _sell_over_the_limit(
        owner_client, customer, rice, override="yes", override_reason=""
    )
    assert no_reason.status_code == 400
    assert "Say why this sale may go over the limit." in no_reason.get_data(as_text=True)
    recorded = _sell_over_the_limit(
        owner_client, customer, rice, override="yes", override_reason="Pays on Friday"
    )
    assert recorded.status_code == 302
    assert fetch(database.admin, "SELECT total, override_reason FROM orders") == [
        (Decimal("50.00"), "Pays on Friday")
    ]
    receipt = owner_client.get(recorded.headers["Location"]).get_data(as_text=True)
    assert "Over the credit limit" in receipt and "Pays on Friday" in receipt


def test_a_clerk_is_not_offered_the_override_and_cannot_send_one(
    app: Flask, database: DatabaseUrls, shop: Shop, clerk_client: FlaskClient
) -> None:
    customer = add_customer(database.admin, shop.business_id, "Grace", credit_limit="20.00")
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00", stock=20)
    refused = _sell_over_the_limit(clerk_client, customer, rice)
    assert refused.status_code == 409
    assert "Record it anyway" not in refused.get_data(as_text=True)
    forged = _sell_over_the_limit(clerk_client, customer, rice, override="yes", override_reason="x")
    assert forged.status_code == 409
    assert fetch(database.admin, "SELECT count(*) FROM orders") == [(0,)]


def test_sales_and_payments_are_found_by_their_number(
    app: Flask, database: DatabaseUrls, shop: Shop, owner_client: FlaskClient
) -> None:
    customer, rice, _ = _sale(app, database, shop)
    second = sell(app, shop, customer, rice, 1)
    payment = pay(app, shop, customer, Decimal("5.00"))
    for query in ("2", "#2", "Sale 2"):
        page = owner_client.get("/sales", query_string={"q": query}).get_data(as_text=True)
        assert f"/sales/{second}" in page and ">Sale 2<" in page and ">Sale 1<" not in page
    page = owner_client.get("/payments", query_string={"q": "Payment 1"}).get_data(as_text=True)
    assert f"/payments/{payment.payment_id}" in page
    page = owner_client.get("/payments", query_string={"q": "3"}).get_data(as_text=True)
    assert f"/payments/{payment.payment_id}" not in page
