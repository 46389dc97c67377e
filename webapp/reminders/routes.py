"""POST /customers/<id>/remind: record a reminder, then open it. Recording is a POST (a GET never
writes). The Content-Security-Policy lets forms post only to the app itself, and a browser
checks a form's redirect against it too, so the answer is never a redirect to WhatsApp: the
page's script records with fetch and then opens the link; without a script the answer is a page
with the link to open."""

from __future__ import annotations

import uuid

from flask import abort, jsonify, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.customers.queries import customer_or_404
from webapp.db import db_session
from webapp.reminders import bp, operations
from webapp.reminders.compose import CHANNELS
from webapp.reminders.forms import RemindForm


@bp.route("/customers/<uuid:customer_id>/remind", methods=["POST"])
def remind(customer_id: uuid.UUID) -> Response | tuple[str, int]:
    session = db_session()
    customer = customer_or_404(session, customer_id, archived_too=True)
    form = RemindForm()
    if not form.validate() or form.channel.data not in CHANNELS:
        abort(400)
    try:
        link, message = operations.record_reminder(
            session, current_user.business, customer, form.channel.data, current_user.id
        )
    except operations.NoNumber:
        abort(400)  # no phone number a link could use: the page offers no button
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"link": link})
    page = render_template(
        "reminders/open.html",
        customer=customer,
        channel=CHANNELS[form.channel.data],
        link=link,
        text=message.text,
    )
    return page, 200
