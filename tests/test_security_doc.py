"""SECURITY.md cites tests as proof: every `tests/<file>.py::<name>` it names must exist, so a
renamed or removed test fails here until the document is corrected. Needs no database."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "SECURITY.md"
# A test file, then its test: a function, or Class::method.
REFERENCE = re.compile(r"tests/((?:\w+/)*\w+\.py)::(\w+(?:::\w+)?)")
# Anything that looks like a citation (a path under tests/ with ::), to be matched in full.
LOOSE = re.compile(r"tests/\w[^\s`]*::[^\s`]*")


def references(text: str) -> list[tuple[str, str]]:
    return [(match.group(1), match.group(2)) for match in REFERENCE.finditer(text)]


def functions_in(path: Path) -> set[str]:
    """The test functions of a file, and its test classes' methods as Class::method."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            found.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return {name for name in found if name.rpartition("::")[2].startswith("test_")}


def test_every_test_security_md_cites_exists() -> None:
    cited = references(DOCUMENT.read_text())
    assert len(cited) >= 50, "SECURITY.md should cite the tests that prove it"
    missing = []
    known: dict[str, set[str]] = {}
    for file, name in cited:
        path = ROOT / "tests" / file
        if not path.is_file():
            missing.append(f"tests/{file} does not exist (cited for {name})")
            continue
        if name not in known.setdefault(file, functions_in(path)):
            missing.append(f"tests/{file}::{name} is not a test in that file")
    assert missing == []


def test_every_citation_is_written_so_it_is_checked() -> None:
    """A reference the pattern would not read (a parameter id, a typo) is not checked at all:
    refuse it rather than let it drift."""
    text = DOCUMENT.read_text()
    loose = [match.group(0).rstrip("`,.;)") for match in LOOSE.finditer(text)]
    checked = {f"tests/{file}::{name}" for file, name in references(text)}
    assert [reference for reference in loose if reference not in checked] == []


def test_the_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    assert references("`tests/test_auth.py::test_x` and tests/sub/test_y.py::Class::test_z") == [
        ("test_auth.py", "test_x"),
        ("sub/test_y.py", "Class::test_z"),
    ]
    module = tmp_path / "test_sample.py"
    module.write_text(
        "def test_a():\n    pass\n\n\ndef helper():\n    pass\n\n\n"
        "class TestB:\n    def test_c(self):\n        pass\n"
    )
    assert functions_in(module) == {"test_a", "TestB::test_c"}
