"""API tokens: long random strings shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from sqlalchemy import text
from sqlalchemy.orm import Session

from webapp.extensions import limiter

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
# Answers the business's requests-per-minute allowance (one round trip for both).
TOUCH = text(
    """WITH touched AS (
           UPDATE api_tokens SET last_used_at = now()
            WHERE business_id = :business_id AND id = :token_id
              AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))
       SELECT api_requests_per_minute FROM businesses WHERE id = :business_id"""
)


ALLOWANCE = text("SELECT api_requests_per_minute FROM businesses WHERE id = :business_id")


def authenticate(session: Session, token: str) -> TokenHolder | None:
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.execute(LOOKUP, {"token_hash": hash_token(token)}).one_or_none()
    if row is None:
        return None
    return TokenHolder(row.business_id, row.token_id, row.created_by)


def touch(session: Session, holder: TokenHolder) -> int:
    """Note the token's use; its business's allowance of requests a minute per token."""
    per_minute: int = session.execute(
        TOUCH, {"business_id": holder.business_id, "token_id": holder.token_id}
    ).scalar_one()
    session.commit()
    return per_minute


def allowance(session: Session, holder: TokenHolder) -> int:
    """Its business's allowance of requests a minute per token (reads only)."""
    per_minute: int = session.execute(ALLOWANCE, {"business_id": holder.business_id}).scalar_one()
    return per_minute


def wait_for(holder: TokenHolder, per_minute: int) -> int | None:
    """Count one request of the token; when it is over its allowance for this minute, the
    seconds until it may send again (else None). Counted in the rate limiter's storage, so
    every worker shares one count when that is a Redis."""
    item = RateLimitItemPerMinute(per_minute)
    if limiter.limiter.hit(item, "api-token", str(holder.token_id)):
        return None
    reset_at = limiter.limiter.get_window_stats(item, "api-token", str(holder.token_id)).reset_time
    return max(1, math.ceil(reset_at - time.time()))
