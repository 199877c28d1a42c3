from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("notes/", views.NoteListView.as_view(), name="notes"),
]
