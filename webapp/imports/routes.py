"""CSV import of customers and products, for owners: upload → preview → confirm.

The preview writes nothing. The confirm form carries the file back (compressed and signed, so
it stays well under the request size cap and cannot be swapped for something never previewed)
with an idempotency key made when the preview was shown; the confirm checks every row again and
imports all of them in one transaction, or nothing.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
import zlib
from decimal import Decimal

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, Signer
from sqlalchemy import and_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from webapp import catalog, ledger
from webapp.auth.access import owner_required
from webapp.db import LOCK_NOT_AVAILABLE, constraint_name, db_session, sqlstate
from webapp.errors import error_response
from webapp.formatting import money
from webapp.imports import bp, csvfile
from webapp.imports.forms import ConfirmForm, UploadForm
from webapp.inputs import parse_uuid
from webapp.models import Import, User

log = logging.getLogger(__name__)

KIND = "<any(customers, products):kind>"
SALT = "shopcredit.import"
# An import waits up to 30 s (SET LOCAL below) for the same preview confirmed a moment earlier
# (a double click) to finish, then answers with that import; tills keep their shorter limit.
SET_IMPORT_LOCK_TIMEOUT = text("SET LOCAL lock_timeout = '30s'")
STALE = "This preview is out of date, so nothing was imported. Upload the file again."
RECENT = 20


class RowRefused(Exception):
    """Writing one row failed; everything was rolled back."""

    def __init__(self, row: csvfile.Row, column: str, message: str) -> None:
        super().__init__(message)
        self.row, self.column, self.message = row, column, message


def _signer() -> Signer:
    return Signer(current_app.secret_key, salt=SALT, digest_method=hashlib.sha256)


def pack(kind: str, content: str) -> str:
    """The file for the confirm form: compressed, URL-safe (nothing to percent-encode), and
    signed for this business and kind."""
    body = f"{current_user.business_id}\n{kind}\n{content}".encode()
    token = base64.urlsafe_b64encode(zlib.compress(body, 6)).rstrip(b"=")
    return _signer().sign(token).decode("ascii")


def unpack(kind: str, payload: str) -> str | None:
    """The file the preview showed, or None when the payload is not one this app made for
    this business and kind."""
    try:
        token = _signer().unsign(payload.encode("ascii"))
        body = zlib.decompress(base64.urlsafe_b64decode(token + b"=" * (-len(token) % 4)))
        business, kind_sent, content = body.decode().split("\n", 2)
    except (BadSignature, UnicodeError, ValueError, zlib.error):
        return None
    if business != str(current_user.business_id) or kind_sent != kind:
        return None
    return content


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
    message = (
        f"The file is larger than {csvfile.MAX_BYTES // (1024 * 1024)} MB. "
        f"Split it into smaller files of at most {csvfile.MAX_ROWS:,} rows each."
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
        return _upload_page(spec, form, "This form has expired; choose the file again.", 400)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _upload_page(spec, form, "Choose the CSV file to upload.", 400)
    try:
        found = csvfile.parse(spec, sent.stream.read(csvfile.MAX_BYTES + 1))
    except csvfile.FileProblem as problem:
        return _upload_page(spec, form, str(problem), 400)
    csvfile.check(db_session(), found)
    confirm_form = ConfirmForm(
        formdata=None, payload=pack(kind, found.text), idempotency_key=str(uuid.uuid4())
    )
    return _preview_page(found, confirm_form, filename=sent.filename)


@bp.route(f"/{KIND}/confirm", methods=["POST"])
@owner_required
def confirm(kind: str) -> Response | tuple[str, int]:
    spec = csvfile.KINDS[kind]
    form = ConfirmForm()
    content = unpack(kind, form.payload.data or "")
    key = parse_uuid(form.idempotency_key.data)
    if not form.validate() or content is None or key is None:
        return _upload_page(spec, UploadForm(formdata=None), STALE, 400)
    session = db_session()
    done = _imported(session, key)
    if done is not None:
        return _already_imported(done)
    try:
        found = csvfile.check(session, csvfile.parse_text(spec, content))
    except csvfile.FileProblem as problem:
        return _upload_page(spec, UploadForm(formdata=None), str(problem), 400)
    if not found.ready:
        message = (
            "Nothing was imported: some rows have problems now. Correct them in the file and "
            "upload it again."
        )
        return _preview_page(found, form, error=message, status=409)
    try:
        import_id = _record(session, found, key)
    except RowRefused as refused:
        session.rollback()
        refused.row.problems[refused.column] = refused.message
        message = (
            f"Nothing was imported: row {refused.row.number} could not be saved. "
            "Correct it and upload the file again."
        )
        return _preview_page(found, form, error=message, status=409)
    except DBAPIError as error:
        session.rollback()
        if sqlstate(error) != LOCK_NOT_AVAILABLE:
            raise
        flash(
            "This file is being imported right now (was Import pressed twice?). Nothing is "
            "imported twice: look at the imports below in a moment.",
            "error",
        )
        return redirect(url_for("imports.index"))
    if import_id is None:
        session.rollback()
        done = _imported(session, key)
        if done is None:  # pragma: no cover (the key's import committed before the insert)
            raise RuntimeError("an import's key conflicted but no import has it")
        return _already_imported(done)
    return redirect(url_for("imports.result", import_id=import_id))


def _imported(session: Session, key: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(select(Import.id).where(Import.idempotency_key == key))


def _already_imported(import_id: uuid.UUID) -> Response:
    flash("This file was imported already; it was not imported again.")
    return redirect(url_for("imports.result", import_id=import_id))


def _record(session: Session, found: csvfile.Upload, key: uuid.UUID) -> uuid.UUID | None:
    """The import in the request's transaction: the imports row first (its unique key makes a
    second confirm of the same preview wait for the first, then do nothing), then every row.
    Committed here; None when this key was imported already."""
    session.execute(SET_IMPORT_LOCK_TIMEOUT)
    import_id = session.scalar(
        insert(Import)
        .values(
            business_id=current_user.business_id,
            id=uuid.uuid4(),
            kind=found.kind.name,
            row_count=len(found.rows),
            idempotency_key=key,
            created_by=current_user.id,
        )
        .on_conflict_do_nothing(index_elements=["business_id", "idempotency_key"])
        .returning(Import.id)
    )
    if import_id is None:
        return None
    # Ids chosen here, so a refusal naming a customer can be traced to its row.
    rows = [(row, uuid.uuid4()) for row in found.rows]
    try:
        if found.kind.name == "customers":
            catalog.create_customers(
                session,
                [(row.customer, row.opening, row_id) for row, row_id in rows if row.customer],
                user_id=current_user.id,
            )
        else:
            catalog.create_products(
                session,
                [(row.product, row_id) for row, row_id in rows if row.product],
                user_id=current_user.id,
                reason="import",
            )
    except ledger.LedgerError as refusal:
        named = str(refusal.detail.get("customer_id", ""))
        row = next((row for row, row_id in rows if str(row_id) == named), found.rows[0])
        raise RowRefused(row, "opening_balance", _refusal_message(refusal)) from None
    except IntegrityError as error:
        if constraint_name(error) != catalog.SKU_INDEX:
            raise
        session.rollback()  # a SKU of the file was taken meanwhile: find which, to say so
        taken = next(
            (row for row in found.rows if catalog.sku_taken(session, row.values.get("sku"))), None
        )
        if taken is None:
            raise
        message = f"A product with the SKU {taken.values.get('sku', '')} was added meanwhile."
        raise RowRefused(taken, "sku", message) from None
    session.commit()
    return import_id


def _refusal_message(refusal: ledger.LedgerError) -> str:
    match refusal:
        case ledger.CreditLimitExceeded():
            return (
                "The opening balance is above the credit limit "
                f"(available credit {money(refusal.available_credit)}): raise the credit limit "
                "or lower the opening balance."
            )
        case ledger.Busy():
            return "The ledger was busy with this customer; try the import again."
        case _:
            return f"The opening balance was refused: {refusal.message}."


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
