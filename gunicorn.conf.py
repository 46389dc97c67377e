"""gunicorn's settings for ShopCredit: `gunicorn -c gunicorn.conf.py wsgi:app` (README,
Deployment). Anything here can be overridden on the command line or in GUNICORN_CMD_ARGS."""

import os
import tempfile

# First, before anything imports prometheus_client (which reads it once): the folder where every
# worker writes its metrics and /metrics adds them up (webapp/serving/metrics.py). The one given
# in PROMETHEUS_MULTIPROC_DIR, else a new one removed at exit.
_metrics_folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or ""
_made_here = not _metrics_folder
if _made_here:
    _metrics_folder = tempfile.mkdtemp(prefix="shopcredit-metrics-")
os.makedirs(_metrics_folder, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_folder

from webapp.serving import gunicorn as shopcredit  # noqa: E402  (after the folder is set)

# Only the proxy on this machine reaches the app; bind another address (--bind 10.0.0.5:8000)
# only when the proxy runs elsewhere, and then set SHOPCREDIT_PROXY_ADDRESSES to its address.
bind = ["127.0.0.1:8000"]
# One worker per core: pages are Python holding the GIL, and threads overlap the waits on
# PostgreSQL (measured in bench/README.md).
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 8
# On SIGTERM, requests in flight (a sale waiting for another till's lock: at most 5 s) finish
# before the workers exit.
graceful_timeout = 30
# gunicorn itself believes X-Forwarded-Proto from the same proxies as the app.
forwarded_allow_ips = os.environ.get("SHOPCREDIT_PROXY_ADDRESSES", "127.0.0.1,::1")
# Its own messages (and the access log, when --access-logfile is given) as JSON lines.
logger_class = shopcredit.JsonLogger
errorlog = "-"


def on_starting(server):  # noqa: ANN001, ANN201  (gunicorn's hook signature)
    shopcredit.empty_metrics_folder(_metrics_folder)
    shopcredit.note_workers(server.cfg.workers)


def child_exit(server, worker):  # noqa: ANN001, ANN201
    shopcredit.worker_exited(worker.pid)


def on_exit(server):  # noqa: ANN001, ANN201
    if _made_here:
        shopcredit.remove_folder(_metrics_folder)
