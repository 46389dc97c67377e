from flask import Blueprint

bp = Blueprint("overdue", __name__)

from webapp.overdue import routes  # noqa: E402,F401  (registers the views on bp)
