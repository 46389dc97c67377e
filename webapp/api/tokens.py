"""API tokens: long random strings shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

PREFIX = "sc_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenHolder:
    business_id: uuid.UUID
    token_id: uuid.UUID
    user_id: uuid.UUID  # who made the token: sales through it are recorded in their name


LOOKUP = text("SELECT business_id, token_id, created_by FROM api_token_lookup(:token_hash)")
# At most one write a minute per token: a busy till must not queue on its own token's row.
TOUCH = text(
    """UPDATE api_tokens SET last_used_at = now()
        WHERE id = :token_id
          AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"""
)


def authenticate(session: Session, token: str) -> TokenHolder | None:
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.execute(LOOKUP, {"token_hash": hash_token(token)}).one_or_none()
    if row is None:
        return None
    return TokenHolder(row.business_id, row.token_id, row.created_by)


def touch(session: Session, holder: TokenHolder) -> None:
    session.execute(TOUCH, {"token_id": holder.token_id})
    session.commit()
