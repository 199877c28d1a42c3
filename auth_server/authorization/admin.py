from django.contrib import admin

from .models import ResourceServer, Subject


@admin.register(ResourceServer)
class ResourceServerAdmin(admin.ModelAdmin):
    list_display = ("application", "enabled", "created")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    raw_id_fields = ("application",)


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    """Read only: a changed or deleted subject would hand a user's data to a new ``sub``."""

    list_display = ("value", "user", "application", "created")
    search_fields = ("value", "user__username", "application__client_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
