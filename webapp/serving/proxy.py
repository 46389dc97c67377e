"""X-Forwarded-* believed only from the proxy.

SHOPCREDIT_TRUSTED_PROXIES says how many proxies in front append to X-Forwarded-For (and set
X-Forwarded-Proto, -Host, -Port); SHOPCREDIT_PROXY_ADDRESSES which peers the nearest of them
connects from. A request from any other peer (someone reaching the app server directly) has
those headers removed before anything reads them, so its address is its own: it cannot spoof
another for the sign-in throttle, nor claim https.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.config import Network

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_FORWARDED",
)


class TrustedProxies:
    def __init__(self, app: WSGIApplication, hops: int, proxies: Iterable[Network]) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
        self.proxies = tuple(proxies)

    def _from_proxy(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:  # a Unix socket's peer has no address: only this machine reaches it
            return True
        return any(address in network for network in self.proxies)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        if self._from_proxy(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        for header in FORWARDED_HEADERS:
            environ.pop(header, None)
        return self.app(environ, start_response)
