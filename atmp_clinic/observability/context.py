"""The request id of the work in hand: set by the request middleware in web processes and by the
task_prerun signal in workers, read by the log filter and by the task publisher."""

import re
import uuid
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# What a proxy or a client may hand us: a UUID, a trace id, a load balancer's id. Anything else
# (too long, or with characters that could forge log fields or headers) is replaced by our own.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def request_id_from(incoming: str | None) -> str:
    """The caller's id when it is sane, otherwise a new one."""
    if incoming and SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex
