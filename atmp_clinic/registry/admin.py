from django.contrib import admin

from .models import AdverseEvent, ExpeditedReport, OutcomeRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """Registry records change only through their services, which audit every change; the admin
    shows them to operators and never adds, edits or deletes."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutcomeRecord)
class OutcomeRecordAdmin(ReadOnlyAdmin):
    list_display = ["visit", "vital_status", "disease_response", "ecog", "recorded_at"]
    list_filter = ["vital_status", "disease_response"]


@admin.register(AdverseEvent)
class AdverseEventAdmin(ReadOnlyAdmin):
    list_display = ["term", "patient", "kind", "grade", "serious", "relatedness", "outcome", "onset_on"]
    list_filter = ["kind", "grade", "serious", "relatedness"]


@admin.register(ExpeditedReport)
class ExpeditedReportAdmin(ReadOnlyAdmin):
    list_display = ["adverse_event", "authority", "due_on", "status", "submitted_at", "acknowledged_at"]
    list_filter = ["status"]
