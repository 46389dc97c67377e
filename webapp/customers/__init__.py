from flask import Blueprint

bp = Blueprint("customers", __name__, url_prefix="/customers")

from webapp.customers import routes  # noqa: E402,F401  (registers the views on bp)
