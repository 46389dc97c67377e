"""Idempotency keys for what pages and the API create: sent twice, made once; the same key with
another request is refused, never answered with the first one's result.

A creation keeps its key (`idempotency_key`, unique per shop) and its request's fingerprint
(`request_hash`) beside the row; the row's id is the server's. The ledger functions do the same
for sales and payments, in SQL (SC007)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session


class KeyReused(Exception):
    """This idempotency key made something else (another request); nothing was made."""


class Keyed(Protocol):
    request_hash: uuid.UUID | None


K = TypeVar("K", bound=Keyed)


def fingerprint(**request: object) -> uuid.UUID:
    """A request's fingerprint: the same values (in any order) give the same one."""
    canonical = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return uuid.UUID(bytes=hashlib.sha256(canonical.encode()).digest()[:16])


def create_once(
    session: Session, find: Callable[[], K | None], make: Callable[[], K], request_hash: uuid.UUID
) -> tuple[K, bool]:
    """Make a row whose key and fingerprint `make` writes, and commit: sent twice, made once.
    Returns the row and whether this call made it.

    `find` looks for the key's row. A key seen before answers with its row when it was made by
    the same request (`request_hash`), and raises KeyReused when not (rows made before
    fingerprints were kept have none, and are answered). When `make` fails, the same request sent
    twice at once may have committed the row meanwhile (the key's unique index, or a rule `make`
    checks, refused the second); after the rollback the row is looked for again, and only if it
    is not there is the error raised."""

    def answered(found: K) -> tuple[K, bool]:
        if found.request_hash is not None and found.request_hash != request_hash:
            raise KeyReused
        return found, False

    found = find()
    if found is not None:
        return answered(found)
    try:
        made = make()
        session.commit()
    except Exception:
        session.rollback()
        found = find()
        if found is None:
            raise
        return answered(found)
    return made, True
