"""CI's two passes share the checks between them (tests/ci_passes.py): every test runs in at
least one, and the lists name files that exist."""

from __future__ import annotations

from pathlib import Path

from tests.ci_passes import ONLY_IN, runs_here

TESTS = Path(__file__).parent


def test_every_test_file_runs_in_at_least_one_pass() -> None:
    files = sorted(TESTS.glob("test_*.py"))
    assert files
    nowhere = [f.name for f in files if not (runs_here(f, "service") or runs_here(f, "embedded"))]
    assert nowhere == []


def test_each_pattern_names_a_test_file() -> None:
    for patterns in ONLY_IN.values():
        for pattern in patterns:
            assert list(TESTS.glob(pattern)), f"{pattern} matches no test file"


def test_a_pass_keeps_its_own_checks_and_drops_the_others() -> None:
    assert runs_here(TESTS / "test_simulation.py", "service")
    assert not runs_here(TESTS / "test_simulation.py", "embedded")
    assert runs_here(TESTS / "test_browser_sale.py", "embedded")
    assert not runs_here(TESTS / "test_browser_sale.py", "service")
    assert runs_here(TESTS / "test_purchase.py", "service")
    assert runs_here(TESTS / "test_purchase.py", "embedded")
