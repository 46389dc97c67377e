from flask import Blueprint

# The cash-up: one day's money in and out, and counting the drawer.
bp = Blueprint("cashup", __name__, url_prefix="/reports")

from webapp.cashup import routes  # noqa: E402,F401  (registers the views on bp)
