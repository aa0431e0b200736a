from django.urls import path

from . import views

urlpatterns = [
    path("", views.search, name="audit-search"),
    path("<str:record_type>/<int:pk>/", views.record_trail, name="audit-record-trail"),
    path("<str:record_type>/<int:pk>/trail.csv", views.record_trail_csv, name="audit-record-trail-csv"),
    path("<str:record_type>/<int:pk>/trail.pdf", views.record_trail_pdf, name="audit-record-trail-pdf"),
]
