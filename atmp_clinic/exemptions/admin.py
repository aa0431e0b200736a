from django.contrib import admin, messages

from . import notifications
from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, for operators: what was sent, what waits, what failed and why."""

    list_display = ["subject", "recipient", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["subject", "recipient__username", "idempotency_key"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ["send_again"]

    @admin.action(description="Send again (failed, or stuck in sending after a crash)")
    def send_again(self, request, queryset):
        count = notifications.resend(notification_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} notifications will be sent again.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
