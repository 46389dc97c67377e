from flask import Blueprint

# Putting mistakes right: returns and voids of sales, reversals of payments.
bp = Blueprint("corrections", __name__)

from webapp.corrections import routes  # noqa: E402,F401  (registers the views on bp)
