"""Log records carry the request id (and, in a worker, the task); LOG_FORMAT=json prints each record
as one JSON object. Only ids are ever added here: never names, emails or patient data."""

import logging
from typing import Any

from celery import current_task
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

from . import context


class RequestContextFilter(logging.Filter):
    """Put on the handler, so records of every logger (Django's, Celery's, ours) pass through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.request_id.get()
        if current_task and current_task.request.id:
            record.task_id, record.task_name = current_task.request.id, current_task.name
        return True


class JsonFormatter(BaseJsonFormatter):
    """{"timestamp": UTC ISO 8601, "level", "logger", "message", "request_id", ...extra fields}."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message", "request_id"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        # python-json-logger writes the record's creation time in UTC with timestamp=True.
        kwargs.setdefault("timestamp", True)
        # Django's request loggers pass the request, whose repr has the query string (search words
        # may name a patient); the request's own line already says method, path and status.
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        super().__init__(*args, **kwargs)
