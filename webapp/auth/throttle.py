"""Failed sign-ins, throttled so that guessing is slow but nobody can lock a known account out.

Three counts of failed sign-ins, kept in the rate limiter's storage
(`SHOPCREDIT_RATELIMIT_STORAGE_URI`: shared by every worker and server when it is a Redis):

- per account (shop code + email, any capitalisation) **and** address: after
  `LOGIN_FAILURES_PER_ACCOUNT_ADDRESS` failures that address waits before trying that account
  again; the real owner, elsewhere, is not held back;
- per address, whatever the account: after `LOGIN_FAILURES_PER_ADDRESS`;
- per account, from anywhere: after `LOGIN_FAILURES_PER_ACCOUNT` — but never for an address
  that signed in to that account successfully in the last 30 days.

The first wait is `LOGIN_LOCK_SECONDS`; each further failure past the threshold doubles it (up to
a day). Failures are counted for a day from the first. While an address waits, its attempts are
answered 429 with `Retry-After` without checking the password, and are not counted. A success
clears that account and address's count. Every failure and every refusal is logged (shop code,
the account's hash as above and address; never the email or password) and counted in the
metrics."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from flask import current_app
from limits.storage import Storage

from webapp.extensions import limiter
from webapp.serving import logs, metrics

log = logging.getLogger("webapp.auth.throttle")

FAILURES_KEPT = 24 * 60 * 60  # seconds a failure counts for, from the first
LONGEST_WAIT = 24 * 60 * 60
KNOWN_FOR = 30 * 24 * 60 * 60  # an address that signed in is known to the account this long


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt: the shop code and email as typed, and the client's address."""

    shop: str
    email: str
    address: str

    @property
    def account(self) -> str:
        typed = f"{self.shop.strip().lower()}\0{self.email.strip().lower()}"
        return hashlib.sha256(typed.encode()).hexdigest()[:32]

    def scopes(self) -> list[tuple[str, str, int]]:
        """(name, key, failures allowed) of each count this attempt belongs to."""
        config = current_app.config
        return [
            (
                "account and address",
                f"pair:{self.account}:{self.address}",
                int(config["LOGIN_FAILURES_PER_ACCOUNT_ADDRESS"]),
            ),
            ("address", f"address:{self.address}", int(config["LOGIN_FAILURES_PER_ADDRESS"])),
            ("account", f"account:{self.account}", int(config["LOGIN_FAILURES_PER_ACCOUNT"])),
        ]

    @property
    def known_key(self) -> str:
        return f"signin:known:{self.account}:{self.address}"


def _storage() -> Storage:
    return limiter.storage


def wait_for(attempt: Attempt) -> int | None:
    """Seconds this attempt must wait (logged), or None when it may try now."""
    storage = _storage()
    known = storage.get(attempt.known_key) > 0
    waits = []
    for name, key, _ in attempt.scopes():
        if name == "account" and known:
            continue  # the account-wide count never holds back an address it knows
        lock = f"signin:lock:{key}"
        if storage.get(lock) > 0:
            seconds = max(1, math.ceil(storage.get_expiry(lock) - time.time()))
            waits.append((seconds, name))
    if not waits:
        return None
    seconds, name = max(waits)
    metrics.sign_in_failed("throttled")
    logs.event(
        log,
        "sign_in_throttled",
        logging.WARNING,
        scope=name,
        shop=attempt.shop.strip()[:40],
        account=attempt.account,
        address=attempt.address,
        retry_after=seconds,
    )
    return seconds


def failed(attempt: Attempt) -> None:
    """Count a failed sign-in; past a count's threshold, its address (or account) waits,
    twice as long with every further failure."""
    metrics.sign_in_failed("password")
    logs.event(
        log,
        "sign_in_failed",
        logging.WARNING,
        reason="password",
        shop=attempt.shop.strip()[:40],
        account=attempt.account,
        address=attempt.address,
    )
    storage = _storage()
    first_wait = int(current_app.config["LOGIN_LOCK_SECONDS"])
    for _, key, allowed in attempt.scopes():
        failures = storage.incr(f"signin:fail:{key}", FAILURES_KEPT)
        if failures >= allowed:
            wait = min(first_wait * 2 ** min(failures - allowed, 32), LONGEST_WAIT)
            lock = f"signin:lock:{key}"
            storage.clear(lock)
            storage.incr(lock, wait)


def succeeded(attempt: Attempt) -> None:
    """A right password: this account and address start again, and the address is known to
    the account for 30 days (the account-wide count never holds it back)."""
    storage = _storage()
    _, pair, _ = attempt.scopes()[0]
    storage.clear(f"signin:fail:{pair}")
    storage.clear(f"signin:lock:{pair}")
    storage.clear(attempt.known_key)
    storage.incr(attempt.known_key, KNOWN_FOR)
