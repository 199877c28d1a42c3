"""The example API: each way of protecting an endpoint, once."""

from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Note
from .serializers import NoteSerializer


def describe(token) -> dict:
    return {
        "username": token.username,
        "client_id": token.client_id,
        "sub": token.sub,
        "scope": " ".join(sorted(token.scope)),
    }


class MeView(APIView):
    """Who the token is for. Needs ``read``."""

    required_scopes = ["read"]

    def get(self, request):
        return Response(describe(request.auth))


class NoteListView(generics.ListCreateAPIView):
    """The token subject's notes: list needs ``read``, create needs ``write``."""

    serializer_class = NoteSerializer
    required_scopes = {"GET": ["read"], "POST": ["write"]}

    def get_queryset(self):
        return Note.objects.filter(owner=self.request.auth.sub)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.auth.sub)
