"""CI runs `make test` twice (.ci/run): on the PostgreSQL service (15) with the app through
PgBouncer, then on the embedded server (18), connecting directly. A check whose outcome cannot
depend on which of the two it runs on runs in one of them only, so CI stays well inside its
time; CI names the pass in SHOPCREDIT_TEST_PASS. Without it (`make test` on any machine) every
test runs. A pattern names test files, or one test of a file (`file.py::test_name`).

- Only in the service pass: the races and the simulation (many connections at once: the
  pooler's transaction mode is what they must survive), Schemathesis's run of the API against
  its description (the API as it is deployed, through the pooler), what a hosting team does
  (the README's deploy and backup steps, gunicorn, draining), and the two checks that wait out
  the 5-second lock timeout (which the pooler must not lose).
- Only in the embedded pass: what a fresh machine is about (the development server, the built
  wheel, the `flask` commands on the embedded server) and the pages in Chromium and under
  generated input, which judge HTML and answers, not the connection under them.

Checks that need the service itself (100,000 products) skip themselves without
TEST_DATABASE_URL, as before.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENVIRONMENT = "SHOPCREDIT_TEST_PASS"

ONLY_IN = {
    "service": (
        "test_corrections_concurrency.py",
        "test_payment_concurrency.py",
        "test_purchase_concurrency.py",
        "test_reports_concurrency.py",
        "test_simulation.py",
        "test_api_schemathesis.py",
        "test_backup_restore.py",
        "test_deploy.py",
        "test_gunicorn.py",
        "test_faults.py::test_a_sale_waiting_too_long_for_another_tills_lock_answers_busy",
        "test_product_stock.py::test_a_product_held_by_a_long_sale_answers_busy_and_changes_nothing",
    ),
    "embedded": (
        "test_accessibility.py",
        "test_browser_*.py",
        "test_cli.py",
        "test_dev_server.py",
        "test_locales.py",
        "test_packaging.py",
        "test_properties.py",
        "test_translations.py",
    ),
}


def matches(pattern: str, path: Path, test: str | None) -> bool:
    """A file pattern matches every test of its files; `file.py::name` one test (by its
    function's name, so each of its parameters)."""
    file, _, name = pattern.partition("::")
    return path.match(file) and (not name or name == test)


def runs_here(path: Path, this_pass: str, test: str | None = None) -> bool:
    """Whether the test `test` of the file at `path` (any of them, when None) runs in this pass."""
    return not any(
        matches(pattern, path, test)
        for other, patterns in ONLY_IN.items()
        if other != this_pass
        for pattern in patterns
    )


def deselect_other_pass(config: pytest.Config, items: list[pytest.Item]) -> None:
    this_pass = os.environ.get(ENVIRONMENT, "")
    if not this_pass:
        return
    if this_pass not in ONLY_IN:
        raise pytest.UsageError(f"{ENVIRONMENT} is {this_pass!r}: say service or embedded")
    kept = [
        item
        for item in items
        if runs_here(item.path, this_pass, getattr(item, "originalname", item.name))
    ]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept
