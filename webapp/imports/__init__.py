from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/import")

from webapp.imports import routes  # noqa: E402,F401  (registers the views on bp)
