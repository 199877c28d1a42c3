"""A URLconf whose one view fails, for the 500 page's test."""

from django.urls import path

from config.urls import handler500  # noqa: F401 (Django reads it from the URLconf)


def fail(request):
    raise RuntimeError("a bug")


urlpatterns = [path("fail/", fail)]
