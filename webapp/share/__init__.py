from flask import Blueprint

# Statements a customer can open: links made from the customer's page (or for a reminder) and
# the read-only page at /s/<token> that anyone holding the link sees, signed in or not.
bp = Blueprint("share", __name__)

from webapp.share import routes  # noqa: E402,F401  (registers the views on bp)
