from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.utils.translation import ngettext

from . import accounts
from .models import ResourceServer, Subject

User = get_user_model()


@admin.register(ResourceServer)
class ResourceServerAdmin(admin.ModelAdmin):
    """Registered APIs. `manage.py register_resource_server` does the same and prints the API's settings."""

    list_display = ("display_name", "resource", "scopes", "enabled", "events_endpoint", "application", "created")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    search_fields = ("name", "resource", "scopes", "application__client_id")
    fields = ("application", "name", "resource", "scopes", "enabled", "events_endpoint")
    raw_id_fields = ("application",)

    @admin.display(description="API", ordering="name")
    def display_name(self, registration):
        return registration.display_name


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


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    """Django's, with a bulk deactivation that tells every API (a queryset update would tell none)."""

    actions = ["deactivate"]

    @admin.action(description="Deactivate selected users", permissions=["change"])
    def deactivate(self, request, queryset):
        count = len(accounts.deactivate(queryset))
        self.message_user(request, ngettext("Deactivated %d user.", "Deactivated %d users.", count) % count)
