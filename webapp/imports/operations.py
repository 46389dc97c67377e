"""Importing a checked CSV file: every row in one transaction, or none."""

from __future__ import annotations

import uuid

from flask_babel import gettext
from sqlalchemy import or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from webapp import ledger
from webapp.customers.operations import NewCustomer, create_customers
from webapp.db import LOCK_NOT_AVAILABLE, TENANT_KEY, committed, constraint_name, sqlstate
from webapp.formatting import money
from webapp.imports import csvfile
from webapp.models import Import
from webapp.products.operations import (
    CODES_KEY,
    SKU_INDEX,
    NewProduct,
    create_products,
    sku_taken,
)
from webapp.products.queries import product_with_code

# An import waits up to 30 s (SET LOCAL below) for the same preview confirmed a moment earlier
# (a double click) to finish, then answers with that import; tills keep their shorter limit.
SET_IMPORT_LOCK_TIMEOUT = text("SET LOCAL lock_timeout = '30s'")


class RowRefused(Exception):
    """Writing one row failed; everything was rolled back."""

    def __init__(self, row: csvfile.Row, column: str, message: str) -> None:
        super().__init__(message)
        self.row, self.column, self.message = row, column, message


class ImportInProgress(Exception):
    """The same preview is being imported right now (Import pressed twice); nothing was written
    by this request."""


def imported_with(session: Session, key: uuid.UUID, preview_id: uuid.UUID) -> uuid.UUID | None:
    """The import a confirm form's key, or its preview, made, if any."""
    return session.scalar(
        select(Import.id)
        .where(or_(Import.idempotency_key == key, Import.preview_id == preview_id))
        .limit(1)
    )


def record_import(
    session: Session,
    found: csvfile.Upload,
    *,
    key: uuid.UUID,
    preview_id: uuid.UUID,
    user_id: uuid.UUID,
) -> tuple[uuid.UUID, bool]:
    """Import every row of a checked file, committed: the imports row first (its unique key
    and unique preview id make a second confirm of the same preview, with any key, wait for the
    first, then do nothing), then the rows. Returns the import's id and False when this key or
    preview was imported already. A row the database refuses raises RowRefused naming it."""
    try:
        with committed(session):
            session.execute(SET_IMPORT_LOCK_TIMEOUT)
            import_id = session.scalar(
                insert(Import)
                .values(
                    business_id=session.info[TENANT_KEY],
                    id=uuid.uuid4(),
                    kind=found.kind.name,
                    row_count=len(found.rows),
                    idempotency_key=key,
                    preview_id=preview_id,
                    created_by=user_id,
                )
                .on_conflict_do_nothing()  # the same key, or the same preview
                .returning(Import.id)
            )
            if import_id is not None:
                _write_rows(session, found, user_id)
    except DBAPIError as error:
        if sqlstate(error) != LOCK_NOT_AVAILABLE:
            raise
        raise ImportInProgress from None
    if import_id is None:
        done = imported_with(session, key, preview_id)
        if done is None:  # pragma: no cover (the key's import committed before the insert)
            raise RuntimeError("an import's key conflicted but no import has it")
        return done, False
    return import_id, True


def _write_rows(session: Session, found: csvfile.Upload, user_id: uuid.UUID) -> None:
    # Ids chosen here, so a refusal naming a customer can be traced to its row.
    rows = [(row, uuid.uuid4()) for row in found.rows]
    try:
        if found.kind.name == "customers":
            create_customers(
                session,
                [
                    NewCustomer(row.customer, row.opening, row_id)
                    for row, row_id in rows
                    if row.customer
                ],
                user_id=user_id,
            )
        else:
            create_products(
                session,
                [NewProduct(row.product, row_id) for row, row_id in rows if row.product],
                user_id=user_id,
                reason="import",
            )
    except ledger.LedgerError as refusal:
        named = str(refusal.detail.get("customer_id", ""))
        row = next((row for row, row_id in rows if str(row_id) == named), found.rows[0])
        raise RowRefused(row, "opening_balance", _refusal_message(refusal)) from None
    except IntegrityError as error:
        if constraint_name(error) == CODES_KEY:
            session.rollback()  # a code of the file was taken meanwhile: find which, to say so
            _code_taken(session, found)
        if constraint_name(error) != SKU_INDEX:
            raise
        session.rollback()  # a SKU of the file was taken meanwhile: find which, to say so
        taken = next((row for row in found.rows if sku_taken(session, row.values.get("sku"))), None)
        if taken is None:
            raise
        message = f"A product with the SKU {taken.values.get('sku', '')} was added meanwhile."
        raise RowRefused(taken, "sku", message) from None


def _code_taken(session: Session, found: csvfile.Upload) -> None:
    """Raise RowRefused for the first row with a barcode or SKU another product now has;
    return when there is none (the caller raises the database's error)."""
    for row in found.rows:
        for column in ("barcode", "sku"):
            holder = product_with_code(session, row.values.get(column))
            if holder is not None:
                written = row.values.get(column, "")
                message = f"“{holder.name}” was given the code {written} meanwhile."
                raise RowRefused(row, column, message) from None


def _refusal_message(refusal: ledger.LedgerError) -> str:
    match refusal:
        case ledger.CreditLimitExceeded():
            return gettext(
                "The opening balance is above the credit limit (available "
                "credit %(available_credit)s): raise the credit limit or "
                "lower the opening balance.",
                available_credit=money(refusal.available_credit),
            )
        case ledger.Busy():
            return gettext("The ledger was busy with this customer; try the import again.")
        case _:
            return gettext("The opening balance was refused: %(message)s.", message=refusal.message)
