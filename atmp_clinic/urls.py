from django.contrib import admin
from django.urls import include, path

from .health import healthz
from .observability.views import metrics

admin.site.site_header = "ATMP Clinic administration"
admin.site.site_title = "ATMP Clinic"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("products/", include("atmp_clinic.products.urls")),
    path("patients/", include("atmp_clinic.patients.urls")),
    path("requests/", include("atmp_clinic.exemptions.urls")),
    path("audit/", include("atmp_clinic.audit.urls")),
    path("", include("atmp_clinic.manufacturing.urls")),
    path("", include("atmp_clinic.registry.dashboard_urls")),
    path("", include("atmp_clinic.followup.urls")),
    path("", include("atmp_clinic.registry.urls")),
    path("", include("atmp_clinic.documents.urls")),
    path("api/v1/", include("atmp_clinic.api.urls")),
    path("", include("atmp_clinic.api.token_urls")),
    path("", include("atmp_clinic.accounts.urls")),
]
