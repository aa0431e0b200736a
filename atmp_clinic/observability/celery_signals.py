"""A task carries the request id of whatever enqueued it, in a message header, and runs under it."""

from contextvars import Token
from typing import Any

from celery import Task
from celery.signals import before_task_publish, task_postrun, task_prerun

from . import context

HEADER = "request_id"

# task id → request id token, for the task running in this process (prefork children and the solo
# pool run one at a time; a threaded pool's tasks each have their own id).
_running: dict[str, Token] = {}


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
    _running[task_id] = context.request_id.set(request_id)


@task_postrun.connect
def finish_task(task_id: str, **_: Any) -> None:
    token = _running.pop(task_id, None)
    if token is not None:
        context.request_id.reset(token)
