"""record_return and reverse_payment through webapp.ledger, and the override of the credit limit:
putting mistakes right, on a real PostgreSQL, with check-ledger clean after every step."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
import pytest
from flask import Flask

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    fetch,
    ledger_violations,
    pay,
    sell,
    tenant_session,
)
from webapp import ledger
from webapp.embedded import DatabaseUrls


def give_back(
    app: Flask,
    shop: Shop,
    order: uuid.UUID,
    *,
    lines: list[tuple[uuid.UUID, int]] | None = None,
    amount: str | None = None,
    void: bool = False,
    user: uuid.UUID | None = None,
    refund_method: str | None = None,
    key: uuid.UUID | None = None,
    reason: str = "brought back",
) -> ledger.Return:
    with tenant_session(app, shop.business_id) as session:
        return ledger.record_return(
            session,
            order_id=order,
            reason=reason,
            idempotency_key=key or uuid.uuid4(),
            user_id=user or shop.owner_id,
            lines=[ledger.Line(p, q) for p, q in lines] if lines is not None else None,
            amount=Decimal(amount) if amount is not None else None,
            void=void,
            refund_method=refund_method,
        )


def reverse(
    app: Flask, shop: Shop, payment: uuid.UUID, *, user: uuid.UUID | None = None, key=None
) -> ledger.Reversal:
    with tenant_session(app, shop.business_id) as session:
        return ledger.reverse_payment(
            session,
            payment_id=payment,
            reason="cheque bounced",
            idempotency_key=key or uuid.uuid4(),
            user_id=user or shop.owner_id,
        )


def two_item_sale(
    app: Flask, database: DatabaseUrls, shop: Shop, limit: str = "1000.00"
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    """Customer, rice (10.00, 3 sold), oil (4.50, 2 sold), and the sale of 39.00."""
    customer = add_customer(database.admin, shop.business_id, credit_limit=limit)
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00", stock=50)
    oil = add_product(database.admin, shop.business_id, "Oil", price="4.50", stock=50)
    with tenant_session(app, shop.business_id) as session:
        sale = ledger.purchase(
            session,
            customer_id=customer,
            lines=[ledger.Line(rice, 3), ledger.Line(oil, 2)],
            idempotency_key=uuid.uuid4(),
            user_id=shop.clerk_id,
        )
    return customer, rice, oil, sale.order_id


def one(database: DatabaseUrls, sql: str, *params: object) -> object:
    return fetch(database.admin, sql, *params)[0][0]


def test_returning_one_item_brings_stock_back_and_lowers_what_is_owed(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer, rice, oil, order = two_item_sale(app, database, shop)

    result = give_back(app, shop, order, lines=[(oil, 1)])

    assert (result.created, result.number, result.amount, result.refund) == (
        True,
        1,
        Decimal("4.50"),
        Decimal("0.00"),
    )
    assert result.balance_after == Decimal("34.50")
    assert one(database, "SELECT balance FROM customers WHERE id = %s", customer) == Decimal(
        "34.50"
    )
    # The sale keeps its total and lines; what it owes is total − returned − paid.
    assert fetch(database.admin, "SELECT total, returned, paid FROM orders") == [
        (Decimal("39.00"), Decimal("4.50"), Decimal("0.00"))
    ]
    assert fetch(database.admin, "SELECT quantity FROM order_items WHERE product_id = %s", oil) == [
        (2,)
    ]
    assert one(database, "SELECT stock FROM products WHERE id = %s", oil) == 49
    assert one(database, "SELECT stock FROM products WHERE id = %s", rice) == 47
    assert fetch(
        database.admin,
        "SELECT change, reason, resulting_stock, return_id FROM stock_movements "
        "WHERE product_id = %s AND reason = 'return'",
        oil,
    ) == [(1, "return", 49, result.return_id)]
    assert one(database, "SELECT sum(owed) FROM open_dues") == Decimal("34.50")
    assert ledger_violations(database.admin) == []


def test_a_paid_sale_returned_pays_other_sales_first_then_refunds_the_rest(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer, rice, _, order = two_item_sale(app, database, shop)
    paid = pay(app, shop, customer, Decimal("39.00"))  # the sale is fully paid
    later = sell(app, shop, customer, rice, 1)  # another sale of 10.00, unpaid

    # Taking back everything of the paid sale: 39.00 comes back, 10.00 pays the other sale.
    with pytest.raises(ledger.InvalidInput) as refused:
        give_back(app, shop, order, void=True)  # money goes back: say how
    assert refused.value.field == "refund_method"
    assert refused.value.detail["refund"] == 29
    assert one(database, "SELECT count(*) FROM returns") == 0

    result = give_back(app, shop, order, void=True, refund_method="cash")
    assert (result.amount, result.refund, result.balance_after) == (
        Decimal("39.00"),
        Decimal("29.00"),
        Decimal("0.00"),
    )
    assert dict(fetch(database.admin, "SELECT id, paid FROM orders")) == {
        order: Decimal("0.00"),
        later: Decimal("10.00"),
    }
    # The payment now pays the later sale, and the rest of it was refunded.
    assert fetch(
        database.admin,
        "SELECT order_id, amount FROM payment_allocations WHERE payment_id = %s",
        paid.payment_id,
    ) == [(later, Decimal("10.00"))]
    assert fetch(database.admin, "SELECT payment_id, amount FROM refund_sources") == [
        (paid.payment_id, Decimal("29.00"))
    ]
    assert one(database, "SELECT refund_method FROM returns") == "cash"
    assert one(database, "SELECT balance FROM customers") == Decimal("0.00")
    assert one(database, "SELECT oldest_open_due_on FROM customers") is None
    assert ledger_violations(database.admin) == []


def test_a_void_takes_back_what_is_left_once(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    _, rice, oil, order = two_item_sale(app, database, shop)
    give_back(app, shop, order, lines=[(rice, 1)])

    void = give_back(app, shop, order, void=True)

    assert (void.number, void.amount) == (2, Decimal("29.00"))
    assert set(
        fetch(
            database.admin,
            "SELECT i.product_id, i.quantity FROM return_items i "
            "JOIN returns r ON r.id = i.return_id WHERE r.is_void",
        )
    ) == {(rice, 2), (oil, 2)}
    assert one(database, "SELECT returned = total FROM orders") is True
    with pytest.raises(ledger.NothingToReturn):
        give_back(app, shop, order, void=True)
    with pytest.raises(ledger.MoreThanReturnable) as refused:
        give_back(app, shop, order, lines=[(rice, 1)])
    assert refused.value.returnable == 0
    assert ledger_violations(database.admin) == []


def test_more_than_was_sold_is_refused_naming_what_can_come_back(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    _, rice, oil, order = two_item_sale(app, database, shop)
    stranger = add_product(database.admin, shop.business_id, "Salt", price="1.00")

    with pytest.raises(ledger.MoreThanReturnable) as refused:
        give_back(app, shop, order, lines=[(rice, 4), (oil, 1)])
    assert (refused.value.product_id, refused.value.returnable) == (rice, 3)
    with pytest.raises(ledger.MoreThanReturnable) as refused:
        give_back(app, shop, order, lines=[(stranger, 1)])
    assert (refused.value.product_id, refused.value.returnable) == (stranger, 0)
    with pytest.raises(ledger.InvalidInput):
        give_back(app, shop, order, lines=[(rice, 0)])
    with pytest.raises(ledger.InvalidInput) as refused:
        give_back(app, shop, order, lines=[(rice, 1)], reason="  ")
    assert refused.value.field == "reason"
    with pytest.raises(ledger.NotFound):
        give_back(app, shop, uuid.uuid4(), void=True)
    assert one(database, "SELECT count(*) FROM returns") == 0
    assert one(database, "SELECT stock FROM products WHERE id = %s", rice) == 47


def test_a_sale_without_items_is_reduced_by_an_amount_or_voided(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id)
    with tenant_session(app, shop.business_id) as session:
        quick = ledger.purchase(
            session,
            customer_id=customer,
            lines=[],
            idempotency_key=uuid.uuid4(),
            user_id=shop.clerk_id,
            amount=Decimal("50.00"),
            note="Paraffin",
        ).order_id

    with pytest.raises(ledger.MoreThanReturnable) as refused:
        give_back(app, shop, quick, amount="50.01")
    assert refused.value.returnable == Decimal("50.00")
    with pytest.raises(ledger.InvalidInput):
        give_back(app, shop, quick, lines=[(uuid.uuid4(), 1)])
    assert give_back(app, shop, quick, amount="20.00").amount == Decimal("20.00")
    assert give_back(app, shop, quick, void=True).amount == Decimal("30.00")
    assert one(database, "SELECT balance FROM customers") == Decimal("0.00")
    assert ledger_violations(database.admin) == []


def test_a_clerk_corrects_only_their_own_sale_within_the_shops_minutes(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer, rice, _, order = two_item_sale(app, database, shop)  # made by the clerk
    owners = sell(app, shop, customer, rice, 1)
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE orders SET created_by = %s WHERE id = %s", (shop.owner_id, owners))

    with pytest.raises(ledger.NotPermitted) as refused:
        give_back(app, shop, owners, void=True, user=shop.clerk_id)
    assert refused.value.reason == "not_own_sale"
    assert give_back(app, shop, order, lines=[(rice, 1)], user=shop.clerk_id).created

    with psycopg.connect(database.admin) as conn:
        conn.execute(
            "UPDATE orders SET created_at = now() - interval '31 minutes' WHERE id = %s", (order,)
        )
    with pytest.raises(ledger.NotPermitted) as refused:
        give_back(app, shop, order, void=True, user=shop.clerk_id)
    assert (refused.value.reason, refused.value.detail["minutes"]) == ("too_late", 30)
    assert give_back(app, shop, order, void=True, user=shop.owner_id).created  # owners always
    assert ledger_violations(database.admin) == []


def test_the_same_key_gives_the_same_return_and_another_request_is_refused(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    _, rice, oil, order = two_item_sale(app, database, shop)
    key = uuid.uuid4()
    first = give_back(app, shop, order, lines=[(rice, 1)], key=key)
    again = give_back(app, shop, order, lines=[(rice, 1)], key=key)
    assert (again.created, again.return_id, again.number) == (False, first.return_id, 1)
    with pytest.raises(ledger.IdempotencyKeyReused):
        give_back(app, shop, order, lines=[(oil, 1)], key=key)
    assert one(database, "SELECT count(*) FROM returns") == 1
    assert one(database, "SELECT stock FROM products WHERE id = %s", rice) == 48


def test_a_reversed_payment_owes_again_even_past_the_limit(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer, rice, _, order = two_item_sale(app, database, shop, limit="40.00")
    payment = pay(app, shop, customer, Decimal("30.00"))
    sell(app, shop, customer, rice, 3)  # 9.00 + 30.00 = 39.00 owed, within 40.00

    reversal = reverse(app, shop, payment.payment_id)

    assert (reversal.created, reversal.number, reversal.balance_after) == (
        True,
        1,
        Decimal("69.00"),
    )
    assert one(database, "SELECT balance FROM customers") == Decimal("69.00")
    assert one(database, "SELECT paid FROM orders WHERE id = %s", order) == Decimal("0.00")
    # The payment and its allocations stay, marked reversed.
    assert one(database, "SELECT count(*) FROM payment_allocations") == 1
    assert one(database, "SELECT reason FROM payment_reversals") == "cheque bounced"
    with pytest.raises(ledger.AlreadyReversed):
        reverse(app, shop, payment.payment_id)
    with pytest.raises(ledger.NotFound):
        reverse(app, shop, uuid.uuid4())
    assert ledger_violations(database.admin) == []


def test_only_an_owner_reverses_and_a_refunded_payment_cannot_be(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer, _, _, order = two_item_sale(app, database, shop)
    payment = pay(app, shop, customer, Decimal("39.00"))
    with pytest.raises(ledger.NotPermitted) as refused:
        reverse(app, shop, payment.payment_id, user=shop.clerk_id)
    assert refused.value.reason == "owner_only"

    give_back(app, shop, order, void=True, refund_method="mobile_money")
    with pytest.raises(ledger.PartlyRefunded) as refunded:
        reverse(app, shop, payment.payment_id)
    assert refunded.value.refunded == Decimal("39.00")
    assert one(database, "SELECT count(*) FROM payment_reversals") == 0
    assert ledger_violations(database.admin) == []


def test_a_reversal_replays_by_key(app: Flask, database: DatabaseUrls, shop: Shop) -> None:
    customer, _, _, _ = two_item_sale(app, database, shop)
    payment = pay(app, shop, customer, Decimal("10.00"))
    key = uuid.uuid4()
    first = reverse(app, shop, payment.payment_id, key=key)
    again = reverse(app, shop, payment.payment_id, key=key)
    assert (again.created, again.balance_after) == (False, first.balance_after)
    assert one(database, "SELECT balance FROM customers") == Decimal("39.00")


def test_an_owner_goes_over_the_limit_with_a_reason_and_a_clerk_cannot(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="20.00")
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00")

    def buy(user: uuid.UUID, reason: str | None) -> ledger.Sale:
        with tenant_session(app, shop.business_id) as session:
            return ledger.purchase(
                session,
                customer_id=customer,
                lines=[ledger.Line(rice, 3)],
                idempotency_key=uuid.uuid4(),
                user_id=user,
                override_reason=reason,
            )

    with pytest.raises(ledger.CreditLimitExceeded):
        buy(shop.owner_id, None)
    with pytest.raises(ledger.NotPermitted):
        buy(shop.clerk_id, "regular, pays Friday")
    sale = buy(shop.owner_id, "regular, pays Friday")
    assert (sale.overridden, sale.number, sale.balance_after) == (True, 1, Decimal("30.00"))
    assert fetch(database.admin, "SELECT override_reason, credit_limit FROM orders") == [
        ("regular, pays Friday", Decimal("20.00"))
    ]
    assert fetch(database.admin, "SELECT kind, reason FROM activity_log WHERE kind <> 'staff'") == [
        ("override", "regular, pays Friday")
    ]
    # The log's line (written after the order, which takes the number) names the sale by its
    # number and points at it.
    assert fetch(
        database.admin, "SELECT summary, order_id FROM activity_log WHERE kind = 'override'"
    ) == [("Sale 1 recorded over the credit limit", sale.order_id)]
    assert ledger_violations(database.admin) == []
    # Without its override, the same sale breaks the invariant: check-ledger says so.
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE orders SET override_reason = NULL")
    assert any("without an owner's override" in v for v in ledger_violations(database.admin))


def test_numbers_run_per_shop_and_kind_and_a_refused_sale_takes_none(
    app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="25.00")
    rice = add_product(database.admin, shop.business_id, "Rice", price="10.00")
    theirs = add_customer(database.admin, other_shop.business_id)
    their_rice = add_product(database.admin, other_shop.business_id, price="1.00")

    first = sell(app, shop, customer, rice, 1)
    with pytest.raises(ledger.CreditLimitExceeded):
        sell(app, shop, customer, rice, 5)
    sell(app, other_shop, theirs, their_rice, 1)
    second = sell(app, shop, customer, rice, 1)
    payment = pay(app, shop, customer, Decimal("5.00"))

    numbers = dict(fetch(database.admin, "SELECT id, number FROM orders"))
    assert (numbers[first], numbers[second]) == (1, 2)
    assert one(database, "SELECT number FROM orders WHERE customer_id = %s", theirs) == 1
    assert payment.number == 1
    assert ledger_violations(database.admin) == []


def test_the_activity_log_records_each_correction_in_the_same_transaction(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer, rice, _, order = two_item_sale(app, database, shop)
    payment = pay(app, shop, customer, Decimal("39.00"))
    give_back(app, shop, order, lines=[(rice, 1)], refund_method="cash")
    other = sell(app, shop, customer, rice, 1)
    give_back(app, shop, other, void=True)
    with pytest.raises(ledger.PartlyRefunded):  # refused: nothing logged
        reverse(app, shop, payment.payment_id)

    kinds = fetch(
        database.admin, "SELECT kind FROM activity_log WHERE kind <> 'staff' ORDER BY at, kind"
    )
    assert [kind for (kind,) in kinds] == ["refund", "return", "void"]
    assert fetch(
        database.admin,
        "SELECT before ->> 'balance', after ->> 'balance', reason, order_id "
        "FROM activity_log WHERE kind = 'void'",
    ) == [("10.00", "0.00", "brought back", other)]
