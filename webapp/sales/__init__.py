from flask import Blueprint

bp = Blueprint("sales", __name__, url_prefix="/sales")

from webapp.sales import routes  # noqa: E402,F401  (registers the views on bp)
