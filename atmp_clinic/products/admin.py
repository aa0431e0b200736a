from django.contrib import admin

from .models import Product, ReleaseTest


class ReleaseTestInline(admin.TabularInline):
    model = ReleaseTest
    extra = 0
    can_delete = False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "hospital", "atmp_class", "origin", "vector_kind", "is_active"]
    list_filter = ["atmp_class", "origin", "hospital__country"]
    search_fields = ["name", "hospital__name"]
    readonly_fields = [
        "hospital",
        "created_by",
        "created_at",
        "classification_answers",
        "classification_reasons",
    ]
    inlines = [ReleaseTestInline]

    def has_add_permission(self, request):
        return False  # pharmacists add products in the app, where grants and checks apply

    def has_delete_permission(self, request, obj=None):
        return False
