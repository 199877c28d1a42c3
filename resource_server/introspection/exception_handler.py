"""REST_FRAMEWORK["EXCEPTION_HANDLER"]: DRF's own answers, each error body naming the request's id.

Apart from errors.py: rest_framework.views loads the authentication classes,
which import errors.py.
"""

from rest_framework import views

from .errors import identified


def exception_handler(error, context):
    response = views.exception_handler(error, context)
    if response is not None:
        response.data = identified(response.data)
    return response
