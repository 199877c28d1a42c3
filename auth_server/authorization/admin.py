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
    list_display = ("value", "user", "application", "created")
    search_fields = ("value", "user__username", "application__client_id")
    raw_id_fields = ("user", "application")
    readonly_fields = ("value", "created")
