import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from atmp_clinic.health import check_broker
from tests.conftest import PROJECT_DIR, require_service


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Worker:
    queue: str
    log: Path
    metrics_port: int
    metrics_dir: Path

    def log_lines(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.strip()]

    def wait_for_log(self, condition, timeout: float = 60) -> dict:
        """The first JSON log line that satisfies `condition`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.log_lines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # reported by the test of the format
                if condition(record):
                    return record
            time.sleep(0.2)
        raise AssertionError(f"no such log line in: {self.log.read_text()[-3000:]}")


@pytest.fixture
def worker(tmp_path):
    """A real prefork worker, as production runs it, on a queue of its own: JSON logs to a file,
    task metrics in multiprocess mode, served on a port of its own."""
    broker = check_broker()
    require_service("the Celery broker", None if broker == "ok" else broker)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    metrics_dir = tmp_path / "worker-metrics"
    metrics_dir.mkdir()
    # What a restarted container finds in its emptyDir: not a valid metrics file, so a scrape that
    # read it would fail. The worker empties the directory as it starts.
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")
    running = Worker(
        queue=queue, log=tmp_path / "worker.log", metrics_port=free_port(), metrics_dir=metrics_dir
    )
    env = {
        **os.environ,
        "LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_WORKER_PORT": str(running.metrics_port),
    }
    with running.log.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "--quiet", "--app", "atmp_clinic", "worker", "--pool", "prefork",
             "--concurrency", "1", "--queues", queue, "--without-heartbeat", "--without-gossip",
             "--without-mingle", "--loglevel", "INFO"],
            cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        yield running
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
