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


def test_each_pattern_names_a_test_file_or_a_test_in_one() -> None:
    for patterns in ONLY_IN.values():
        for pattern in patterns:
            file, _, name = pattern.partition("::")
            found = list(TESTS.glob(file))
            assert found, f"{pattern} matches no test file"
            if name:
                assert any(f"def {name}(" in f.read_text() for f in found), f"no test {pattern}"


def test_a_pass_keeps_its_own_checks_and_drops_the_others() -> None:
    assert runs_here(TESTS / "test_simulation.py", "service")
    assert not runs_here(TESTS / "test_simulation.py", "embedded")
    assert runs_here(TESTS / "test_browser_sale.py", "embedded")
    assert not runs_here(TESTS / "test_browser_sale.py", "service")
    assert runs_here(TESTS / "test_purchase.py", "service")
    assert runs_here(TESTS / "test_purchase.py", "embedded")


def test_one_test_of_a_file_can_keep_to_one_pass() -> None:
    faults, busy = (
        TESTS / "test_faults.py",
        "test_a_sale_waiting_too_long_for_another_tills_lock_answers_busy",
    )
    assert runs_here(faults, "service", busy)
    assert not runs_here(faults, "embedded", busy)
    assert runs_here(faults, "embedded", "test_the_app_rides_out_a_database_restart")
    assert runs_here(faults, "embedded")  # the file's other tests
