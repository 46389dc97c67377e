"""A ledger function's own refusal text reaches a page in the reader's language
(webapp/ledger_messages.py): every text the functions refuse bad input or a person with is
listed there, and so translated (tests/test_translations.py checks the catalogue)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask_babel import force_locale

from webapp.ledger_messages import TRANSLATED, said

FUNCTIONS = Path(__file__).resolve().parent.parent / "webapp" / "sql" / "functions"
# ledger_refuse('SC004' or 'SC008', <message>, …): the message's literal texts, a CASE's too.
REFUSAL = re.compile(r"ledger_refuse\(\s*'SC00[48]',\s*(.*?),\s*(?:'\{|jsonb_build|format)", re.S)
LITERAL = re.compile(r"'((?:[^']|'')*)'")


def refusal_texts() -> set[str]:
    found: set[str] = set()
    for path in FUNCTIONS.glob("*.sql"):
        sql = path.read_text()
        for call in REFUSAL.finditer(sql):
            if call.group(1).lstrip().startswith("format("):
                continue  # figures written in: shown as the SQL wrote it
            found |= {text for text in LITERAL.findall(call.group(1)) if " " in text}
        # A sale's lines at fault carry one of these (process_purchase's CASE).
        found |= set(re.findall(r"WHEN 'product_id' THEN '([^']+)'", sql))
    return found


def test_every_refusal_text_of_the_ledger_is_translated() -> None:
    texts = refusal_texts()
    assert "say why" in texts and "choose a product" in texts  # the scan finds them
    assert sorted(texts - TRANSLATED.keys()) == []


def test_a_refusal_reads_as_a_sentence_in_the_readers_language(app: Flask) -> None:
    with app.test_request_context():
        assert said("say why") == "Say why."
        with force_locale("sw"):
            assert said("say why") == "Sema kwa nini."
        # A text with figures written in by the SQL stays as written.
        assert said("a clerk can correct a sale only within 30 minutes") == (
            "A clerk can correct a sale only within 30 minutes."
        )
