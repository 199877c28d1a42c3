import secrets

# An access token of the demo client that expired a second ago, written straight
# into the AS's database: no setting has to make every token short-lived.
CREATE_EXPIRED_TOKEN = """
from datetime import timedelta
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, set_token_value
token = get_access_token_model()(
    application=get_application_model().objects.get(client_id="{client_id}"),
    scope="read",
    expires=timezone.now() - timedelta(seconds=1),
)
set_token_value(token, "{value}")
token.save()
"""


def test_expired_token_is_inactive_and_refused_with_invalid_token(client, stack):
    value = secrets.token_urlsafe(32)
    stack.auth_manage(
        "shell", "-c", CREATE_EXPIRED_TOKEN.format(client_id=stack.secrets["DEMO_CLIENT_ID"], value=value)
    )

    introspected = client.introspect(value)
    response = client.api("/api/me/", value)

    assert introspected.json() == {"active": False}
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.json()["error_description"] == "The access token is invalid, expired or revoked."
