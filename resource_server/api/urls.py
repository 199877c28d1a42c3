from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("notes/", views.NoteListView.as_view(), name="notes"),
    path("notes/count/", views.note_count, name="note-count"),
    path("notes/<int:pk>/", views.NoteDetailView.as_view(), name="note"),
    path("hello/", views.HelloView.as_view(), name="hello"),
]
