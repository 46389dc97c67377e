"""CSRF protection: Flask-WTF's token on every form post, and a same-origin check from what the
browser says about where the form came from.

Flask-WTF's own check over https (WTF_CSRF_SSL_STRICT) wants a Referer naming the Host the app
sees. Browsers may send no Referer (privacy settings, extensions), and a proxy may not pass the
public Host: either way every form post failed as "expired". It is off (config.DEFAULTS); in its
place, the scheme of Go's CrossOriginProtection (net/http, 1.25):

- `Sec-Fetch-Site`, set by every current browser and not settable by a page's script: only
  `same-origin` (or `none`: typed or bookmarked by the user) may post. It does not depend on the
  Host header, so it holds whatever the proxy passes.
- else (a browser from before 2023) `Origin`, when sent, must name the host the request was made
  to (after the trusted proxy's X-Forwarded-Host);
- else neither header: not a current browser's cross-site request; the token alone decides.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import g, request
from flask_wtf import CSRFProtect
from werkzeug.exceptions import Forbidden

from webapp.serving import logs

log = logging.getLogger(__name__)

ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


class CrossOriginPost(Forbidden):
    """A form sent to ShopCredit from another site's page."""


def cross_origin_reason() -> str | None:
    """Why this request's browser says it came from another site; None when it did not."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return None if fetch_site in ALLOWED_FETCH_SITES else f"Sec-Fetch-Site: {fetch_site}"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    if urlsplit(origin).netloc.lower() == request.host.lower():
        return None
    return f"Origin: {origin}"


class SameOriginCSRFProtect(CSRFProtect):  # type: ignore[misc]  # Flask-WTF has no types
    def protect(self, apply_exemptions: bool = False) -> None:
        super().protect(apply_exemptions)
        # Set only when the token was checked: exempt views (the API) and GETs are left alone.
        if not g.get("csrf_valid"):
            return
        reason = cross_origin_reason()
        if reason is not None:
            logs.event(log, "cross_origin_refused", logging.WARNING, reason=reason[:200])
            raise CrossOriginPost()
