"""The randomized concurrent simulation (tests/simulation.py) at test size.

A failure message starts with the seed; rerun it with SHOPCREDIT_SIM_SEED=<seed>.
"""

from __future__ import annotations

import uuid

from flask import Flask

from tests import simulation
from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    fetch,
    ledger_violations,
    sell,
    tenant_session,
)
from webapp import ledger
from webapp.embedded import DatabaseUrls

DEFAULT_SEED = 20261127


def test_random_tills_with_retries_duplicates_and_kills_keep_the_ledger_true(
    database_server: str, database: DatabaseUrls
) -> None:
    config = simulation.Config(
        seed=simulation.default_seed(DEFAULT_SEED), operations=2_500, threads=8
    )

    result = simulation.run(database_server, database, config)

    assert result.failures == [], result.failure_message()
    assert ledger_violations(database.admin) == [], f"seed={config.seed}"
    # The run did what it claims: tills were refused, answers were lost to killed backends
    # and the requests sent again, duplicates raced, and acknowledged work was checked.
    stats, seed = result.stats, f"seed={config.seed}"
    assert sum(stats.ops.values()) == config.operations, seed
    assert result.kills > 0 and stats.lost > 0, seed
    assert stats.doubles > 0 and stats.ops["resend"] > 0, seed
    refused = {name.split(":")[1] for name in stats.refusals}
    assert {"InsufficientStock", "CreditLimitExceeded", "PaymentExceedsBalance"} <= refused, seed
    for kind in ("sale", "payment", "delivery"):
        assert result.checks[f"{kind} acknowledged, recorded once"] > 0, seed
    assert result.checks["refused, not recorded"] > 0, seed


def test_a_matched_count_sent_again_later_is_not_applied(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    """Found by the simulation: a till counts 20, which matches (recorded as a change of 0); a
    sale takes 2; the count's request arrives again (resent after a lost answer, or a double
    click racing the sale). Recorded once means nothing happens again: the stock stays 18."""
    product = add_product(database.admin, shop.business_id, stock=20)
    customer = add_customer(database.admin, shop.business_id)
    key = uuid.uuid4()

    def count() -> ledger.StockChange:
        with tenant_session(app, shop.business_id) as session:
            return ledger.adjust_stock(
                session,
                product_id=product,
                reason="count_correction",
                counted=20,
                idempotency_key=key,
                user_id=shop.owner_id,
            )

    first = count()
    assert (first.created, first.change, first.resulting_stock) == (True, 0, 20)
    sell(app, shop, customer, product, 2)
    again = count()

    assert fetch(database.admin, "SELECT stock FROM products") == [(18,)]
    assert (again.movement_id, again.created, again.change) == (first.movement_id, False, 0)
    assert ledger_violations(database.admin) == []
