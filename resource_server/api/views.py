"""The example API: each way of protecting an endpoint, once."""

from django.http import JsonResponse
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from introspection.decorators import require_oauth

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
    """The token subject's notes: list (and HEAD) needs ``read``, create needs ``write``.

    Any other method is refused with 403 before the view runs: the dict names no
    rule for it. Mapping a method to None would accept any valid token.
    """

    serializer_class = NoteSerializer
    required_scopes = {"GET": ["read"], "POST": ["write"]}

    def get_queryset(self):
        return Note.objects.filter(owner=self.request.auth.sub)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.auth.sub)


class NoteDetailView(generics.RetrieveUpdateDestroyAPIView):
    """One of the subject's notes. A mixed rule: (read AND write) OR notes."""

    serializer_class = NoteSerializer
    required_scopes = ["read write", "notes"]

    def get_queryset(self):
        return Note.objects.filter(owner=self.request.auth.sub)


@require_oauth({"GET": ["read", "notes"]})
def note_count(request):
    """A plain Django view protected by the decorator: GET (and HEAD) with read OR notes, nothing else."""
    return JsonResponse({"count": Note.objects.filter(owner=request.oauth_token.sub).count()})


class HelloView(APIView):
    """Token optional: anonymous without a token, personal with one, 401 with a bad one."""

    token_optional = True

    def get(self, request):
        token = request.auth
        if token is None:
            return Response({"message": "Hello, anonymous."})
        return Response({"message": f"Hello, {token.username or token.client_id}.", **describe(token)})
