from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from webapp.staff import routes  # noqa: E402,F401  (registers the views on bp)
