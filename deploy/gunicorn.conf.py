"""gunicorn for the web container: threads serve slow clients without a process each."""

import os
from pathlib import Path

from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker
from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Longer than a person's pause between pages and than the proxy's idle time: with gunicorn's 2 s, a
# client reusing a connection as gunicorn closes it got a reset (bench/load.py: 17 in 1,514 requests).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
graceful_timeout = 30
max_requests = 2000
max_requests_jitter = 200
# No access log: RequestLogMiddleware already logs each request once, with its request id, status and
# duration (and without the query string, which gunicorn's line would print).
accesslog = None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# gunicorn's own lines (boots, worker timeouts) as JSON too, when the app logs JSON (settings.py's
# LOG_FORMAT and its production default): a log collector then parses every line of the service.
# The formatter is the app's, so the fields are the same.
if (
    os.environ.get("LOG_FORMAT", "json" if os.environ.get("DJANGO_ENV") == "production" else "plain")
    == "json"
):
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "atmp_clinic.observability.logs.JsonFormatter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        "root": {"level": "INFO", "handlers": ["console"]},
        # Not propagated: in a worker, Django's logging puts its own handler on the root logger.
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False}},
    }


def on_starting(server: Arbiter) -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR before any worker writes to it: files of an earlier run (a
    Kubernetes emptyDir outlives a container restart) would be summed into this run's figures, and
    a reused pid would continue a dead process's counts."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def child_exit(server: Arbiter, worker: Worker) -> None:
    """A dead worker's live gauges must leave the sum (prometheus_client's multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
