from django.urls import path

from . import views

urlpatterns = [
    path("requests/<int:request_pk>/collections/new/", views.collection_create, name="collection-create"),
    path("collections/<int:collection_pk>/batches/new/", views.batch_create, name="batch-create"),
    path("batches/<int:pk>/", views.batch_detail, name="batch-detail"),
    path("batches/<int:pk>/certificate.pdf", views.batch_certificate_pdf, name="batch-certificate"),
    path("batches/<int:pk>/steps/<str:step>/", views.batch_step, name="batch-step"),
    path("patients/<int:pk>/traceability/", views.patient_traceability, name="patient-traceability"),
]
