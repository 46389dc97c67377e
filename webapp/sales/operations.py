"""Recording a sale from the counter: the ledger records it (webapp/ledger.py, under its locks);
this module adds the one rule of the sale form — never a duplicate by accident."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal

from sqlalchemy.orm import Session

from webapp import ledger
from webapp.inputs import parse_uuid
from webapp.sales.queries import Twin, recent_twin


class LooksLikeARepeat(Exception):
    """The same clerk recorded the same sale for this customer minutes ago; nothing was
    recorded. Sent again with `repeat_of` naming that sale, it is recorded."""

    def __init__(self, twin: Twin) -> None:
        super().__init__(f"the same as sale {twin.order_id}")
        self.twin = twin


def record_sale(
    session: Session,
    *,
    customer_id: uuid.UUID,
    lines: list[ledger.Line],
    key: uuid.UUID,
    user_id: uuid.UUID,
    amount: Decimal | None = None,
    note: str = "",
    repeat_of: uuid.UUID | None = None,
    override_reason: str | None = None,
) -> ledger.Sale:
    """A sale from the sale form, one committed ledger call. A sale identical to one this clerk
    recorded for this customer in the last ten minutes (under another key: Back, then Record
    sale) raises LooksLikeARepeat unless `repeat_of` names that sale, the clerk's confirmation.
    Lines whose quantity the ledger would refuse are left to it (it names the line)."""
    quantities: Counter[uuid.UUID] = Counter()
    for line in lines:
        product = parse_uuid(line.product_id)
        if product is None or not isinstance(line.quantity, int):
            quantities.clear()  # the ledger refuses this sale, with its own message
            break
        quantities[product] += line.quantity
    if quantities or amount is not None:
        twin = recent_twin(
            session,
            customer_id=customer_id,
            user_id=user_id,
            key=key,
            quantities=dict(quantities),
            amount=amount,
            note=note,
        )
        if twin is not None and twin.order_id != repeat_of:
            raise LooksLikeARepeat(twin)
    return ledger.purchase(
        session,
        customer_id=customer_id,
        lines=lines,
        idempotency_key=key,
        user_id=user_id,
        amount=amount,
        note=note,
        override_reason=override_reason,
    )
