"""API tokens: long random strings shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from webapp.models import ApiToken

PREFIX = "sc_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    *,
    business_id: uuid.UUID,
    name: str,
    created_by: uuid.UUID,
    token_id: uuid.UUID | None = None,
) -> tuple[ApiToken, str]:
    """Store a new token for the business; return it with the plain token (shown once).
    `token_id`, when given, becomes its id (a form's idempotency key: sent twice, made once)."""
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise ValueError("A token name is 1 to 80 characters.")
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        business_id=business_id,
        id=token_id or uuid.uuid4(),
        name=name,
        token_hash=hash_token(plain),
        created_by=created_by,
    )
    session.add(token)
    session.flush()
    return token, plain


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
