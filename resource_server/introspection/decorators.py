from functools import wraps

from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import APIException

from . import bearer
from .errors import MissingToken, error_response
from .permissions import enforce
from .scopes import MethodRules


def require_oauth(scopes=None, optional=False):
    """Protect a plain Django view, as Authlib's ``require_oauth`` does.

    ``scopes`` takes the forms of a DRF view's ``required_scopes`` (see
    MethodRules): None for any valid token, a rule for every method, or a dict
    from method to rule that refuses the methods it does not name. With
    ``optional=True`` a request without an Authorization header is served with
    ``request.oauth_token = None``; an invalid token is still refused. Answers
    match the DRF classes exactly.
    """
    rules = MethodRules(scopes)  # an empty rule fails here, when the view is defined

    def decorator(view):
        @csrf_exempt  # a bearer token is no ambient credential, as in DRF's APIView
        @wraps(view)
        def protected(request, *args, **kwargs):
            try:
                token = bearer.authenticate(request)
                if token is None and not optional:
                    raise MissingToken()
                if token is not None:
                    enforce(rules, request.method, token.scope)
            except APIException as error:
                return error_response(error)
            request.oauth_token = token
            return view(request, *args, **kwargs)

        return protected

    return decorator
