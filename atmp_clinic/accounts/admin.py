from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from . import services
from .models import Membership, Organisation, User


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "country", "manufacturing_authorisation_number", "is_active"]
    list_filter = ["kind", "country", "is_active"]
    search_fields = ["name", "manufacturing_authorisation_number"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "country", "address", "is_active"]}),
        ("Hospital", {"fields": ["manufacturing_authorisation_number"]}),
        (
            "Authority rules",
            {
                "description": "Required for a national competent authority; leave empty for a hospital.",
                "fields": [
                    "validation_days",
                    "assessment_days",
                    "information_response_days",
                    "permit_validity_days",
                    "notify_each_administration",
                    "expedited_report_deadline",
                    "expedited_report_deadline_fatal",
                ],
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        services.organisation_save(organisation=obj)

    def has_delete_permission(self, request, obj=None):
        return False  # organisations are deactivated: their records must stay attributable


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = [
        "organisation", "role", "is_validator", "is_assessor", "is_decider", "is_qualified_person", "started_at",
        "ended_at",
    ]  # fmt: skip
    can_delete = False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "first_name", "last_name", "email", "is_active", "is_staff"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.user_sync_groups(user=form.instance)

    def has_delete_permission(self, request, obj=None):
        return False  # users are deactivated: who signed or changed a record must stay known
