"""Requests with a NUL character in a parameter are refused before any view reads them.

No OAuth parameter may contain one (RFC 6749 Appendix A), and PostgreSQL cannot
store one in text: psycopg 3 raises DataError, which DOT's guard (GH #1006,
written for psycopg2's ValueError) does not catch, so a NUL in a client_id, a
code or a device_code reached clients as a 500. Django's forms refuse NUL too,
but DOT reads most parameters without a form.
"""

from django.http import JsonResponse


def has_nul(parameters) -> bool:
    return any("\x00" in name or any("\x00" in value for value in values) for name, values in parameters.lists())


class RefuseNulParameters:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_nul(request.GET) or (request.method == "POST" and has_nul(request.POST)):
            return JsonResponse(
                {"error": "invalid_request", "error_description": "A request parameter contains a NUL character."},
                status=400,
            )
        return self.get_response(request)
