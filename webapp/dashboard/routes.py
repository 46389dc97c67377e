from __future__ import annotations

from flask import render_template
from sqlalchemy import text

from webapp.dashboard import bp
from webapp.db import db_session

SUMMARY = text(
    """SELECT (SELECT count(*) FROM customers WHERE NOT is_archived) AS customers,
              (SELECT coalesce(sum(balance), 0) FROM customers) AS total_owed,
              (SELECT count(*) FROM products WHERE is_active) AS products,
              (SELECT count(*) FROM products p JOIN businesses b ON b.id = p.business_id
                WHERE p.is_active AND p.stock <= b.low_stock_threshold) AS low_stock"""
)


@bp.route("/")
def index() -> str:
    summary = db_session().execute(SUMMARY).one()
    return render_template("dashboard/index.html", summary=summary)
