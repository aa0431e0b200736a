"""Prometheus metrics of our own: Celery tasks (recorded where they run), the outbox backlog and
each queue's worker heartbeat (both computed when scraped). django-prometheus adds the request and database metrics.

Processes: gunicorn's workers and Celery's prefork children each count in their own memory, so in
production both run with PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode, one
directory per service, emptied before it starts): each process writes its counts to files there
and a scrape sums them. Without it (runserver, the solo pool, tests) the process's own registry is
read."""

import logging
import math
import os
from pathlib import Path

from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from atmp_clinic.health import last_heartbeats

from .selectors import outbox_backlog

logger = logging.getLogger(__name__)

TASKS = Counter(
    "atmp_celery_tasks",
    "Celery tasks run, by task name and outcome (success, failure, retry, ...).",
    ["task", "outcome"],
)
TASK_DURATION = Histogram(
    "atmp_celery_task_duration_seconds",
    "Time a Celery task ran, by task name and outcome.",
    ["task", "outcome"],
    # From the one-row sends (milliseconds) to the exports and annual reports (minutes).
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)


class OutboxCollector(Collector):
    """Asked at each scrape: one query, whatever the size of the outbox."""

    def collect(self):
        backlog = outbox_backlog(now=timezone.now())
        due = GaugeMetricFamily(
            "atmp_outbox_due_messages",
            "Outbox messages due and not sent yet (pending), by kind.",
            labels=["kind"],
        )
        for kind, count in backlog.due_by_kind.items():
            due.add_metric([kind], count)
        yield due
        yield GaugeMetricFamily(
            "atmp_outbox_oldest_due_reminder_age_seconds",
            "Seconds since the oldest pending reminder became due without a sweep handing it over.",
            value=backlog.oldest_due_reminder_seconds,
        )


class HeartbeatCollector(Collector):
    """Asked at each scrape: one cache read. A pool that stopped shows here as an age that grows."""

    def collect(self):
        try:
            heartbeats = last_heartbeats()
        except Exception:  # a cache outage must not fail the scrape of every other metric
            logger.warning("worker heartbeats unreadable: the cache did not answer", exc_info=True)
            return
        ages = GaugeMetricFamily(
            "atmp_worker_heartbeat_age_seconds",
            "Seconds since a worker of the queue's pool last ran beat's heartbeat (+Inf: none yet).",
            labels=["queue"],
        )
        now = timezone.now()
        for queue, seen in heartbeats.items():
            ages.add_metric([queue], (now - seen).total_seconds() if seen else math.inf)
        yield ages


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def empty_multiprocess_dir() -> None:
    """Remove the files of an earlier run, before this one's processes write theirs: a Kubernetes
    emptyDir outlives a container's restart, and its files would be summed into this run's figures."""
    if multiprocess_mode():
        for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
            stale.unlink()


def process_registry() -> CollectorRegistry:
    """What this process and its siblings counted."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def scrape_registry() -> CollectorRegistry:
    """For the web's /metrics: the counts of every web process, the outbox and the heartbeats as they
    are now."""
    registry = CollectorRegistry()
    registry.register(ProcessMetrics())
    registry.register(OutboxCollector())
    registry.register(HeartbeatCollector())
    return registry


class ProcessMetrics(Collector):
    def collect(self):
        yield from process_registry().collect()


def serve_worker_metrics(*, port: int, address: str) -> None:
    """The worker's own exporter, in its main process: the pool's children cannot serve one port."""
    start_http_server(port, addr=address, registry=process_registry())
    logger.info("worker metrics served on %s:%d", address, port)
