from flask import Blueprint

from webapp.auth.access import require_recent_password

bp = Blueprint("staff", __name__, url_prefix="/staff")

# Owners confirm their password (within 15 minutes) before every page and change here.
bp.before_request(require_recent_password)

from webapp.staff import routes  # noqa: E402,F401  (registers the views on bp)
