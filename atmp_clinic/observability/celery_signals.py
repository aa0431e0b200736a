"""A task carries the request id of whatever enqueued it, in a message header, and runs under it;
each run is counted and timed by task name and outcome; a worker may serve its metrics."""

import logging
import time
from contextvars import Token
from typing import Any

from celery import Task
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init
from django.conf import settings

from . import context
from .metrics import TASK_DURATION, TASKS, empty_multiprocess_dir, multiprocess_mode, serve_worker_metrics

logger = logging.getLogger(__name__)

HEADER = "request_id"

# task id → (start, request id token), for the task running in this process (prefork children and
# the solo pool run one at a time; a threaded pool's tasks each have their own id).
_running: dict[str, tuple[float, Token]] = {}


@before_task_publish.connect
def add_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = context.request_id.get()
    if headers is not None and request_id and HEADER not in headers:
        headers[HEADER] = request_id


@task_prerun.connect
def start_task(task_id: str, task: Task, **_: Any) -> None:
    # A message without the header (beat's) runs under no request id, or, run eagerly inside a
    # request, keeps the request's.
    request_id = getattr(task.request, HEADER, None) or context.request_id.get()
    _running[task_id] = (time.perf_counter(), context.request_id.set(request_id))


@task_postrun.connect
def finish_task(task_id: str, task: Task, state: str | None = None, **_: Any) -> None:
    running = _running.pop(task_id, None)
    if running is None:  # its prerun failed: nothing to restore or time
        return
    started, token = running
    context.request_id.reset(token)
    outcome = (state or "unknown").lower()
    TASKS.labels(task=task.name, outcome=outcome).inc()
    TASK_DURATION.labels(task=task.name, outcome=outcome).observe(time.perf_counter() - started)


@worker_init.connect
def start_metrics_exporter(sender: Any = None, **_: Any) -> None:
    port = settings.METRICS_WORKER_PORT
    if not port:
        return
    pool = sender.pool_cls if sender is not None else None
    pool_name = pool if isinstance(pool, str) else getattr(pool, "__module__", "")
    if "prefork" in pool_name and not multiprocess_mode():
        logger.critical(
            "METRICS_WORKER_PORT with the prefork pool needs PROMETHEUS_MULTIPROC_DIR: the pool's "
            "children count the tasks, and only files there reach the exporter"
        )
        # Not an exception: Celery logs those from signal handlers and starts anyway, blind.
        raise SystemExit(1)
    # In the main process, before the pool's children start and write their counts.
    empty_multiprocess_dir()
    serve_worker_metrics(port=port, address=settings.METRICS_WORKER_ADDRESS)
