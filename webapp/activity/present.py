"""How a line of the log reads: who did it, its kind, and what changed (for the lines whose
summary does not already say it). One wording for the list, the CSV, and the customer's and
product's pages."""

from __future__ import annotations

from typing import Any

from webapp.activity.log import ADMIN_COMMAND, KIND_LABELS

# The ledger's lines say what happened in the summary ("Return 3 of sale 12: 10.00") and keep
# the figures it moved (balance, stock) in before/after: those are shown as details. The lines
# the app writes say before → after in the summary itself.
SUMMARY_SAYS_IT = frozenset(
    {"credit_limit", "price", "staff", "settings", "api_token", "statement_link"}
)
# Ids kept for tracing, not for reading.
HIDDEN_KEYS = frozenset({"user_id", "staff_id", "token_id", "link_id"})


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def who(row: Any) -> str:
    """The person (for an API call, the token's maker, and the token), or the admin command."""
    if row.user_id is None and row.token_name is None:
        return ADMIN_COMMAND[0].upper() + ADMIN_COMMAND[1:]
    name = row.user_name or "Unknown user"
    return f"{name} (API token '{row.token_name}')" if row.token_name else name


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def details(row: Any) -> str:
    """What moved, "balance 50.00 → 40.00; stock 3 → 1", for lines whose summary does not say
    it; empty otherwise."""
    if row.kind in SUMMARY_SAYS_IT:
        return ""
    before: dict[str, Any] = row.before or {}
    after: dict[str, Any] = row.after or {}
    parts = []
    for key in [*before, *(key for key in after if key not in before)]:
        if key in HIDDEN_KEYS:
            continue
        label = key.replace("_", " ")
        if key in before and key in after:
            parts.append(f"{label} {_value(before[key])} → {_value(after[key])}")
        else:
            parts.append(f"{label} {_value(after.get(key, before.get(key)))}")
    return "; ".join(parts)
