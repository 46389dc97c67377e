"""A ledger call lets its locks go before its commit reaches the disk, but answers only after
(webapp/ledger.py): checked on the server's own WAL positions, for a sale and a payment."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.helpers import Shop, add_customer, add_product, fetch, tenant_session
from webapp import ledger
from webapp.embedded import DatabaseUrls

ROUNDS = 5  # a WAL writer flushing by chance in the instant between could hide one miss, not five


def _position(database: DatabaseUrls, function: str) -> int:
    """A WAL position as a byte count."""
    return int(fetch(database.admin, f"SELECT {function}() - '0/0'::pg_lsn")[0][0])  # type: ignore[call-overload]


def _written_then_flushed(
    app: Flask, database: DatabaseUrls, shop: Shop, call: Callable[[Session], object]
) -> tuple[int, int]:
    """(WAL written as the call's transaction committed, WAL on disk when the call answered)."""
    written: list[int] = []
    with tenant_session(app, shop.business_id) as session:
        event.listen(
            session,
            "after_commit",
            lambda _session: written.append(_position(database, "pg_current_wal_insert_lsn")),
        )
        call(session)
        flushed = _position(database, "pg_current_wal_flush_lsn")
    assert len(written) == 1, "the ledger call commits its own transaction, once"
    return written[0], flushed


def test_a_sale_and_a_payment_are_on_disk_when_answered(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    customer = add_customer(database.admin, shop.business_id, credit_limit="1000.00")
    product = add_product(database.admin, shop.business_id, "Rice", price="2.00", stock=100)

    def sell(session: Session) -> object:
        return ledger.purchase(
            session,
            customer_id=customer,
            lines=[ledger.Line(product, 1)],
            idempotency_key=uuid.uuid4(),
            user_id=shop.clerk_id,
        )

    def pay(session: Session) -> object:
        return ledger.pay(
            session,
            customer_id=customer,
            amount=Decimal("1.00"),
            method="cash",
            note="",
            idempotency_key=uuid.uuid4(),
            user_id=shop.clerk_id,
        )

    for _ in range(ROUNDS):
        for call in (sell, pay):
            written, flushed = _written_then_flushed(app, database, shop, call)
            assert flushed >= written, f"{call.__name__} answered before its commit was flushed"
    assert fetch(database.admin, "SELECT count(*) FROM orders")[0][0] == ROUNDS
