from django.utils import timezone

from atmp_clinic.celery import app

from . import dashboards, services


@app.task(name="registry.run_export")
def run_export(job_id: int) -> int | None:
    job = services.export_run(job_id)
    return job.rows_written if job else None


@app.task(name="registry.run_waiting_exports")
def run_waiting_exports() -> int:
    """Every few minutes (beat): exports asked for while the broker was down."""
    waiting = services.exports_waiting()
    for job_id in waiting:
        run_export.delay(job_id)
    return len(waiting)


@app.task(name="registry.refresh_registry_figures")
def refresh_registry_figures() -> str:
    """Every few minutes (beat): the analyst's dashboard figures, so that no page view computes them."""
    kept = dashboards.registry_figures_refresh(today=timezone.localdate())
    return kept.as_of.isoformat()
