from flask import Blueprint

bp = Blueprint("payments", __name__, url_prefix="/payments")

from webapp.payments import routes  # noqa: E402,F401  (registers the views on bp)
