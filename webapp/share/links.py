"""The token in a shared statement's address, /s/<token>.

The token is the HMAC-SHA256 of the link's id under the app's SECRET_KEY (with a label of its
own, so it is never a value the key signs for anything else), written in base64url: 43
characters, 256 bits no one can guess or work out from the id. The database keeps only its
SHA-256 (`statement_links.token_hash`), by which the page finds the link; the page then checks
that the token is the one this app's key makes for that link (in constant time), so a row
written into the database by someone without the key opens nothing.

Made from the id, a link's address can be shown again to the shop (the customer's page lists
them, and a reminder reuses one) without the secret ever being stored. A new SECRET_KEY ends
every link made under the old one: the customer sees "ask the shop for a new one".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid

from flask import current_app, url_for

LABEL = b"shopcredit statement link v1\x00"
SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def token_for(link_id: uuid.UUID) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    mac = hmac.new(key, LABEL + link_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(token: str) -> bool:
    return SHAPE.fullmatch(token) is not None


def made_here(link_id: uuid.UUID, token: str) -> bool:
    """The token is the one this app's key makes for the link (constant time)."""
    return hmac.compare_digest(token_for(link_id).encode("ascii"), token.encode("ascii"))


def address(link_id: uuid.UUID) -> str:
    """The link as the customer opens it: the full address, on this server's host."""
    return url_for("share.statement", token=token_for(link_id), _external=True)
