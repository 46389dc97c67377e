"""What gunicorn.conf.py (at the repository's root) gives gunicorn: its own log lines in the
app's JSON form, and the metrics' multiprocess folder kept right.

Imported by the config file in gunicorn's master process, after it has set
PROMETHEUS_MULTIPROC_DIR (prometheus_client reads it when first imported).
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]
from prometheus_client import multiprocess

from webapp.serving.logs import JsonFormatter, event
from webapp.serving.requests import ENVIRON_PREFIX


class JsonLogger(Logger):  # type: ignore[misc]  # gunicorn has no types
    """gunicorn's error log (its own messages) and access log, as JSON lines."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log.handlers:  # no --access-logfile: the app's own line is enough
            return
        event(
            self.access_log,
            "access",
            request_id=environ.get(ENVIRON_PREFIX + "request_id"),
            business_id=environ.get(ENVIRON_PREFIX + "business_id"),
            user_id=environ.get(ENVIRON_PREFIX + "user_id"),
            method=environ.get("REQUEST_METHOD"),
            path=str(environ.get("PATH_INFO", ""))[:500],
            status=getattr(resp, "status_code", None),
            duration_ms=round(request_time.total_seconds() * 1000, 1),
            bytes=getattr(resp, "sent", None),
            address=environ.get("REMOTE_ADDR"),
        )


def empty_metrics_folder(folder: str) -> None:
    """At start: values a previous run left would otherwise be added to this one's."""
    for path in Path(folder).glob("*.db"):
        path.unlink()


def worker_exited(pid: int) -> None:
    """A worker's live gauges (connections in use) stop counting when it is gone."""
    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def remove_folder(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def note_workers(count: int) -> None:
    """Tell the app how many workers share its rate limits (its warning about memory://),
    unless SHOPCREDIT_WORKERS says so already: the workers inherit this environment."""
    os.environ.setdefault("SHOPCREDIT_WORKERS", str(count))
