"""CSV import of customers and products, for owners: upload → preview → confirm.

The preview writes nothing. The confirm form carries the file back (compressed and signed, so
it stays well under the request size cap and cannot be swapped for something never previewed)
with an idempotency key made when the preview was shown; the confirm checks every row again and
imports all of them in one transaction, or nothing.

The signature also covers a preview id the server made and the time of the preview: a preview
is confirmed once (the imports row keeps its id, unique, so the same form sent again with
another idempotency key imports nothing twice) and within an hour (PREVIEW_LIFETIME).
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
import zlib
from dataclasses import dataclass
from decimal import Decimal

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from itsdangerous import BadSignature, Signer
from sqlalchemy import and_, select
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from webapp.auth.access import owner_required
from webapp.db import db_session
from webapp.errors import error_response
from webapp.imports import bp, csvfile, operations
from webapp.imports.forms import ConfirmForm, UploadForm
from webapp.models import Import, User

KIND = "<any(customers, products):kind>"
SALT = "shopcredit.import"
STALE = lazy_gettext("This preview is out of date, so nothing was imported. Upload the file again.")
PREVIEW_LIFETIME = 3600  # seconds a preview may be confirmed in
EXPIRED = lazy_gettext(
    "This preview is more than an hour old, so nothing was "
    "imported. Upload the file again to check it anew."
)
RECENT = 20


@dataclass(frozen=True)
class Preview:
    """What a confirm form carries back, as the preview signed it."""

    content: str  # the file
    preview_id: uuid.UUID
    made_at: int  # seconds since the epoch

    @property
    def expired(self) -> bool:
        return not 0 <= now() - self.made_at <= PREVIEW_LIFETIME


def now() -> int:
    return int(time.time())


def _signer() -> Signer:
    return Signer(str(current_app.secret_key), salt=SALT, digest_method=hashlib.sha256)


def pack(kind: str, content: str) -> str:
    """The file for the confirm form: compressed, URL-safe (nothing to percent-encode), and
    signed for this business and kind, with a new preview id and the time."""
    header = f"{current_user.business_id}\n{kind}\n{uuid.uuid4()}\n{now()}"
    token = base64.urlsafe_b64encode(zlib.compress(f"{header}\n{content}".encode(), 6))
    return _signer().sign(token.rstrip(b"=")).decode("ascii")


def unpack(kind: str, payload: str) -> Preview | None:
    """The preview as it was shown, or None when the payload is not one this app made for
    this business and kind."""
    try:
        token = _signer().unsign(payload.encode("ascii"))
        body = zlib.decompress(base64.urlsafe_b64decode(token + b"=" * (-len(token) % 4)))
        business, kind_sent, preview_id, made_at, content = body.decode().split("\n", 4)
        preview = Preview(content, uuid.UUID(preview_id), int(made_at))
    except (BadSignature, UnicodeError, ValueError, zlib.error):
        return None
    if business != str(current_user.business_id) or kind_sent != kind:
        return None
    return preview


def list_url(kind: str) -> str:
    """The customers or products list (its blueprint may be newer than this one)."""
    endpoint = f"{kind}.index"
    return url_for(endpoint) if endpoint in current_app.view_functions else f"/{kind}"


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> Response | tuple[str, int]:
    """A file far over the cap is refused before it is read: say so on the upload page."""
    kind = csvfile.KINDS.get((request.view_args or {}).get("kind", ""))
    if current_user.is_authenticated and not current_user.is_owner:
        return error_response(403)
    if kind is None or not current_user.is_authenticated:
        return error_response(413)
    message = gettext(
        "The file is larger than %(value)s MB. Split it into smaller "
        "files of at most %(max_rows)s rows each.",
        value=csvfile.MAX_BYTES // (1024 * 1024),
        max_rows=format(csvfile.MAX_ROWS, ","),
    )
    return _upload_page(kind, UploadForm(formdata=None), message, status=413)


@bp.route("")
@owner_required
def index() -> str:
    recent = db_session().execute(
        select(Import, User.name)
        .join(User, and_(User.business_id == Import.business_id, User.id == Import.created_by))
        .order_by(Import.created_at.desc(), Import.id)
        .limit(RECENT)
    )
    return render_template("imports/index.html", kinds=csvfile.KINDS, recent=list(recent))


@bp.route(f"/{KIND}", methods=["GET", "POST"])
@owner_required
def upload(kind: str) -> tuple[str, int]:
    spec = csvfile.KINDS[kind]
    form = UploadForm()
    if request.method == "GET":
        return _upload_page(spec, form)
    if not form.validate():
        return _upload_page(
            spec, form, gettext("This form has expired; choose the file again."), 400
        )
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _upload_page(spec, form, gettext("Choose the CSV file to upload."), 400)
    try:
        found = csvfile.parse(spec, sent.stream.read(csvfile.MAX_BYTES + 1))
    except csvfile.FileProblem as problem:
        return _upload_page(spec, form, str(problem), 400)
    csvfile.check(db_session(), found)
    confirm_form = ConfirmForm(formdata=None, payload=pack(kind, found.text))
    return _preview_page(found, confirm_form, filename=sent.filename)


@bp.route(f"/{KIND}/confirm", methods=["POST"])
@owner_required
def confirm(kind: str) -> Response | tuple[str, int]:
    spec = csvfile.KINDS[kind]
    form = ConfirmForm()
    preview = unpack(kind, form.payload.data or "")
    if not form.validate() or preview is None or form.key is None:
        return _upload_page(spec, UploadForm(formdata=None), str(STALE), 400)
    session = db_session()
    done = operations.imported_with(session, form.key, preview.preview_id)
    if done is not None:
        return _already_imported(done)
    if preview.expired:
        return _upload_page(spec, UploadForm(formdata=None), str(EXPIRED), 400)
    try:
        found = csvfile.check(session, csvfile.parse_text(spec, preview.content))
    except csvfile.FileProblem as problem:
        return _upload_page(spec, UploadForm(formdata=None), str(problem), 400)
    if not found.ready:
        message = gettext(
            "Nothing was imported: some rows have problems now. Correct "
            "them in the file and upload it again."
        )
        return _preview_page(found, form, error=message, status=409)
    try:
        import_id, created = operations.record_import(
            session, found, key=form.key, preview_id=preview.preview_id, user_id=current_user.id
        )
    except operations.RowRefused as refused:
        refused.row.problems[refused.column] = refused.message
        message = gettext(
            "Nothing was imported: row %(number)s could not be saved. "
            "Correct it and upload the file again.",
            number=refused.row.number,
        )
        return _preview_page(found, form, error=message, status=409)
    except operations.ImportInProgress:
        flash(
            gettext(
                "This file is being imported right now (was Import pressed "
                "twice?). Nothing is imported twice: look at the imports "
                "below in a moment."
            ),
            "error",
        )
        return redirect(url_for("imports.index"))
    if not created:
        return _already_imported(import_id)
    return redirect(url_for("imports.result", import_id=import_id))


def _already_imported(import_id: uuid.UUID) -> Response:
    flash(gettext("This preview was imported already; it was not imported again."))
    return redirect(url_for("imports.result", import_id=import_id))


@bp.route("/<uuid:import_id>")
@owner_required
def result(import_id: uuid.UUID) -> str:
    found = (
        db_session()
        .execute(
            select(Import, User.name)
            .join(User, and_(User.business_id == Import.business_id, User.id == Import.created_by))
            .where(Import.id == import_id)
        )
        .one_or_none()
    )
    if found is None:
        abort(404)
    record, by = found
    return render_template(
        "imports/result.html",
        record=record,
        by=by,
        kind=csvfile.KINDS[record.kind],
        list_url=list_url(record.kind),
    )


@bp.route(f"/{KIND}/example.csv")
@owner_required
def example(kind: str) -> Response:
    return Response(
        csvfile.example_csv(csvfile.KINDS[kind]),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{kind}-example.csv"'},
    )


def _upload_page(
    kind: csvfile.Kind, form: UploadForm, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    if error:
        form.file.errors = [error]
    page = render_template(
        "imports/upload.html",
        kind=kind,
        form=form,
        max_rows=csvfile.MAX_ROWS,
        max_mb=csvfile.MAX_BYTES // (1024 * 1024),
    )
    return page, status


def _preview_page(
    found: csvfile.Upload,
    form: ConfirmForm,
    *,
    filename: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    openings = sum((row.opening for row in found.rows if row.customer), Decimal("0.00"))
    page = render_template(
        "imports/preview.html",
        upload=found,
        kind=found.kind,
        form=form,
        filename=filename,
        error=error,
        openings=openings,
    )
    return page, status
