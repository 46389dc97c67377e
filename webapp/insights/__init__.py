from flask import Blueprint

# The owners' reports (/reports): sales, money collected, what is owed by age over time, and
# who owes the most. The cash-up (/reports/day) is its own blueprint, linked from here.
bp = Blueprint("insights", __name__, url_prefix="/reports")

from webapp.insights import routes  # noqa: E402,F401  (registers the views on bp)
