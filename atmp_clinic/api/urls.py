from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from atmp_clinic.api.fallback import NoSuchRoute
from atmp_clinic.exemptions.api import ExemptionRequestViewSet
from atmp_clinic.followup.api import VisitViewSet
from atmp_clinic.manufacturing.api import BatchViewSet
from atmp_clinic.patients.api import PatientViewSet
from atmp_clinic.registry.api import AdverseEventViewSet
from atmp_clinic.registry.api_exports import RegistryCsvExportView, RegistryNdjsonExportView

# Namespaced: the router's names (patient-list, patient-detail) are the browser UI's names too.
app_name = "api"

# SimpleRouter: no browsable root page and no `.json` suffix routes, only the endpoints of SPEC §7.
router = SimpleRouter()
router.register("patients", PatientViewSet, basename="patient")
router.register("exemptions", ExemptionRequestViewSet, basename="exemption")
router.register("batches", BatchViewSet, basename="batch")
router.register("visits", VisitViewSet, basename="visit")
router.register("adverse-events", AdverseEventViewSet, basename="adverse-event")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("registry/export.csv", RegistryCsvExportView.as_view(), name="registry-export-csv"),
    path("registry/export.ndjson", RegistryNdjsonExportView.as_view(), name="registry-export-ndjson"),
    *router.urls,
    # Last: whatever else is under /api/v1/ is answered as the API answers, in JSON.
    re_path(r"^(?P<route>[\s\S]*)$", NoSuchRoute.as_view(), name="no-such-route"),
]
