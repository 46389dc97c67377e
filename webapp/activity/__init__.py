"""The activity log: owners read it at /activity (and as CSV); `log.record` writes it."""

from flask import Blueprint

bp = Blueprint("activity", __name__)

from webapp.activity import routes  # noqa: E402,F401  (registers the views on bp)
