from django.contrib import admin, messages

from . import reminders
from .models import FollowUpTemplateDefinition, OutboxMessage, VisitDefinition


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


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Reminders and digests, for operators: what was sent, what waits, what failed and why. The
    body of a patient's reminder holds no clinical details, so operators may read it."""

    list_display = ["idempotency_key", "kind", "channel", "status", "attempts", "send_after", "sent_at"]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["idempotency_key"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["send_again"]

    @admin.action(description="Send again (failed, or stuck in sending after a crash)")
    def send_again(self, request, queryset):
        count = reminders.resend(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} messages will be sent again.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
