"""A page that enqueues a task, as the app's pages do, for the test that follows its request id."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from atmp_clinic.celery import record_worker_heartbeat


def enqueue_heartbeat(request: HttpRequest) -> HttpResponse:
    record_worker_heartbeat.apply_async(queue=request.GET["queue"])
    return HttpResponse("enqueued")


urlpatterns = [path("enqueue-heartbeat", enqueue_heartbeat)]
