from flask import Blueprint

# Reminders that get sent: choosing one records it, then opens WhatsApp or SMS with the text.
bp = Blueprint("reminders", __name__)

from webapp.reminders import routes  # noqa: E402,F401  (registers the views on bp)
