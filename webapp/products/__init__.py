from flask import Blueprint

bp = Blueprint("products", __name__, url_prefix="/products")

from webapp.products import routes  # noqa: E402,F401  (registers the views on bp)
