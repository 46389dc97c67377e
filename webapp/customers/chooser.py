"""Choosing the customer a sale or a payment is for: one page, found by name or phone."""

from __future__ import annotations

from flask import render_template, request

from webapp.customers.queries import find_customers
from webapp.db import db_session


def chooser_page(*, title: str, endpoint: str, verb: str, include_archived: bool = False) -> str:
    """The customers matching ?q= (the first 20, saying how many match when there are more),
    each row a link to `endpoint` with ?customer=<id>. Archived customers (who can pay but not
    buy) only when `include_archived`."""
    query = request.args.get("q", "").strip()[:100]
    found = find_customers(db_session(), query, include_archived=include_archived)
    return render_template(
        "customers/choose.html",
        q=query,
        found=found,
        title=title,
        endpoint=endpoint,
        verb=verb,
    )
