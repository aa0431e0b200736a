import logging

from atmp_clinic.celery import app

from . import services

logger = logging.getLogger(__name__)


@app.task(name="exemptions.lapse_unanswered")
def lapse_unanswered() -> list[str]:
    """Daily: requests whose hospital let the authority's deadline for answers pass lapse."""
    lapsed = services.lapse_unanswered()
    logger.info("lapsed %d requests: %s", len(lapsed), ", ".join(lapsed))
    return lapsed
