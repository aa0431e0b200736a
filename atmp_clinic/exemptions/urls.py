from django.urls import path

from . import views

urlpatterns = [
    path("", views.request_list, name="request-list"),
    path("new/", views.request_create, name="request-create"),
    path("<int:pk>/", views.request_detail, name="request-detail"),
    path("<int:pk>/edit/", views.request_edit, name="request-edit"),
    path("<int:pk>/dossier.pdf", views.request_dossier, name="request-dossier"),
    path("<int:pk>/decision.pdf", views.request_decision_letter, name="request-decision-letter"),
    path("<int:pk>/steps/<str:step>/", views.request_step, name="request-step"),
    path("<int:pk>/attachments/", views.attachment_create, name="attachment-create"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.attachment_download, name="attachment-download"),
]
