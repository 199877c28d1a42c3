from django.contrib import admin

from .models import ResourceServer


@admin.register(ResourceServer)
class ResourceServerAdmin(admin.ModelAdmin):
    list_display = ("application", "created")
    raw_id_fields = ("application",)
