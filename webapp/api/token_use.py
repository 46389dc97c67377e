"""When each API token was last used, without a write on the read path.

A write (POST) notes its token's use in its own transaction, as before (at most once a minute
per token). A read (GET) writes nothing: it may be answered by a read-only replica, where any
write fails. Its use is noted in this process's memory instead, and a background thread writes
what was noted to the primary once a minute (and at exit), one UPDATE per business. What a
process killed without warning had noted in its last minute is lost; the tokens page only shows
the last use to the minute anyway.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import text

from webapp.db import Database, bind_tenant

FLUSH_EVERY = 60.0  # seconds
log = logging.getLogger(__name__)

# A use noted earlier than the one stored (another worker's, flushed later) never goes back.
TOUCH_MANY = text(
    """UPDATE api_tokens t SET last_used_at = u.used_at
         FROM unnest(CAST(:ids AS uuid[]), CAST(:used_at AS timestamptz[])) AS u(id, used_at)
        WHERE t.business_id = :business_id AND t.id = u.id
          AND (t.last_used_at IS NULL OR t.last_used_at < u.used_at)"""
)


class PendingUses:
    """Token uses noted by GETs in this process and not yet written."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._lock = threading.Lock()
        self._uses: dict[tuple[uuid.UUID, uuid.UUID], datetime] = {}
        self._flusher_pid: int | None = None
        self._stop = threading.Event()

    def note(self, business_id: uuid.UUID, token_id: uuid.UUID) -> None:
        with self._lock:
            self._uses[(business_id, token_id)] = datetime.now(UTC)
            if self._flusher_pid != os.getpid():  # first use in this (possibly forked) process
                self._flusher_pid = os.getpid()
                threading.Thread(target=self._run, name="token-uses", daemon=True).start()
                atexit.register(self.flush)

    def pending(self) -> int:
        with self._lock:
            return len(self._uses)

    def flush(self) -> None:
        """Write every use noted so far to the primary, in one transaction."""
        with self._lock:
            uses, self._uses = self._uses, {}
        if not uses or self._stop.is_set():
            return
        by_business: dict[uuid.UUID, list[tuple[uuid.UUID, datetime]]] = defaultdict(list)
        for (business_id, token_id), used_at in uses.items():
            by_business[business_id].append((token_id, used_at))
        try:
            with self._database.transaction(None) as session:
                for business_id, tokens in by_business.items():
                    bind_tenant(session, business_id)
                    session.execute(
                        TOUCH_MANY,
                        {
                            "business_id": business_id,
                            "ids": [token_id for token_id, _ in tokens],
                            "used_at": [used_at for _, used_at in tokens],
                        },
                    )
        except Exception:  # the next flush tries again with what is noted by then
            log.warning("Could not record API tokens' last use; will try again.", exc_info=True)
            with self._lock:
                for key, used_at in uses.items():
                    self._uses[key] = max(used_at, self._uses.get(key, used_at))

    def stop(self) -> None:
        """No more flushes (an app being thrown away, as tests do): what is noted is dropped."""
        self._stop.set()
        with self._lock:
            self._uses.clear()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_EVERY):
            self.flush()
