from django.contrib import admin

from .models import FollowUpTemplateDefinition, VisitDefinition


class VisitDefinitionInline(admin.TabularInline):
    model = VisitDefinition
    extra = 0


@admin.register(FollowUpTemplateDefinition)
class FollowUpTemplateAdmin(admin.ModelAdmin):
    """Reference data: editing a template changes the plans made from then on, never existing ones."""

    list_display = ["name", "code", "duration_years"]
    inlines = [VisitDefinitionInline]

    def has_delete_permission(self, request, obj=None):
        return False
