import base64
from io import StringIO

from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import reverse

from authorization.models import ResourceServer

from . import factories
from .factories import AccessToken, Application

INTROSPECT_URL = reverse("oauth2_provider:introspect")
BILLING = [
    "--client-id",
    "billing-api",
    "--resource",
    "https://billing.example/",
    "--scopes",
    "billing:read billing:write",
]


def register(*arguments) -> dict:
    """Run the command; its output as a dict of the settings it printed, plus the comment lines under "#"."""
    out = StringIO()
    call_command("register_resource_server", *arguments, stdout=out)
    printed = {"#": []}
    for line in out.getvalue().splitlines():
        if line.startswith("#"):
            printed["#"].append(line)
        else:
            name, _, value = line.partition("=")
            printed[name] = value
    return printed


def introspect(client, credentials: str):
    """200 while ``credentials`` (client_id:secret) may introspect, 401 once they may not."""
    authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    return client.post(INTROSPECT_URL, {"token": "any"}, HTTP_AUTHORIZATION=authorization)


class RegisterResourceServerTests(TestCase):
    def test_registering_creates_the_client_and_prints_the_apis_settings_once(self):
        printed = register(*BILLING, "--name", "Billing")

        api = ResourceServer.objects.get(application__client_id="billing-api")
        self.assertEqual(
            (api.resource, api.scopes, api.name, api.enabled),
            (printed["RESOURCE_SERVER_RESOURCE"], "billing:read billing:write", "Billing", True),
        )
        self.assertEqual(printed["RESOURCE_SERVER_SCOPES"], "billing:read billing:write")
        self.assertEqual(printed["#"][0], "# billing-api: created")
        client_id, _, secret = printed["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"].partition(":")
        self.assertEqual(client_id, "billing-api")
        self.assertGreaterEqual(len(secret), 64)
        self.assertEqual(api.application.client_type, Application.CLIENT_CONFIDENTIAL)
        self.assertTrue(api.application.client_secret.startswith("client_secret_sha256$"))  # never stored in clear
        self.assertEqual(introspect(self.client, printed["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"]).status_code, 200)

    def test_a_second_run_changes_nothing_and_says_so(self):
        first = register(*BILLING)
        stored = Application.objects.get(client_id="billing-api").client_secret

        second = register(*BILLING)

        self.assertEqual(second["#"][0], "# billing-api: unchanged")
        self.assertNotIn("RESOURCE_SERVER_INTROSPECTION_CREDENTIALS", second)
        self.assertEqual(Application.objects.get(client_id="billing-api").client_secret, stored)
        self.assertEqual(introspect(self.client, first["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"]).status_code, 200)
        self.assertEqual(ResourceServer.objects.count(), 1)

    def test_rotating_the_secret_prints_the_new_one_and_the_old_one_stops_working(self):
        old = register(*BILLING)["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"]

        printed = register("--client-id", "billing-api", "--rotate-secret")

        new = printed["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"]
        self.assertNotEqual(new, old)
        self.assertEqual(printed["#"][0], "# billing-api: updated (secret)")
        self.assertEqual(introspect(self.client, old).status_code, 401)
        self.assertEqual(introspect(self.client, new).status_code, 200)

    def test_changed_options_update_the_registration_and_leave_the_rest(self):
        register(*BILLING, "--name", "Billing")

        printed = register("--client-id", "billing-api", "--scopes", "billing:read")

        api = ResourceServer.objects.get()
        self.assertEqual((api.resource, api.scopes, api.name), ("https://billing.example/", "billing:read", "Billing"))
        self.assertEqual(printed["#"][0], "# billing-api: updated (scopes)")

    def test_the_events_endpoint_is_set_changed_and_cleared(self):
        register(*BILLING)
        self.assertEqual(ResourceServer.objects.get().events_endpoint, "")

        printed = register(
            "--client-id", "billing-api", "--events-endpoint", "https://billing.example/security-events/"
        )
        self.assertEqual(printed["#"][0], "# billing-api: updated (events_endpoint)")
        self.assertEqual(ResourceServer.objects.get().events_endpoint, "https://billing.example/security-events/")
        self.assertEqual(register("--client-id", "billing-api")["#"][0], "# billing-api: unchanged")

        register("--client-id", "billing-api", "--events-endpoint", "")
        self.assertEqual(ResourceServer.objects.get().events_endpoint, "")

    def test_disabling_cuts_the_api_off_and_enabling_lets_it_back(self):
        credentials = register(*BILLING)["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"]

        disabled = register("--client-id", "billing-api", "--disable")

        self.assertIn("# disabled: it may not introspect, and no token can be asked for it", disabled["#"])
        self.assertEqual(introspect(self.client, credentials).status_code, 401)
        register("--client-id", "billing-api", "--enable")
        self.assertEqual(introspect(self.client, credentials).status_code, 200)

    def test_removing_deletes_the_registration_the_client_and_its_tokens(self):
        credentials = register(*BILLING)["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"]
        factories.access_token("introspector", Application.objects.get(client_id="billing-api"), scope="introspection")

        printed = register("--client-id", "billing-api", "--remove")

        self.assertEqual(printed["#"], ["# billing-api: removed"])
        self.assertFalse(Application.objects.filter(client_id="billing-api").exists())
        self.assertFalse(AccessToken.objects.exists())
        self.assertEqual(introspect(self.client, credentials).status_code, 401)
        self.assertEqual(
            register("--client-id", "billing-api", "--remove")["#"], ["# billing-api: not registered, nothing removed"]
        )

    def test_an_existing_confidential_client_can_be_registered_and_its_secret_rotated(self):
        factories.application("billing-api")

        printed = register(*BILLING)
        rotated = register("--client-id", "billing-api", "--rotate-secret")

        self.assertEqual(printed["#"][0], "# billing-api: created")
        self.assertNotIn("RESOURCE_SERVER_INTROSPECTION_CREDENTIALS", printed)  # its secret is the one it had
        self.assertEqual(introspect(self.client, rotated["RESOURCE_SERVER_INTROSPECTION_CREDENTIALS"]).status_code, 200)

    def test_removing_leaves_a_client_that_is_no_api_alone(self):
        factories.application("machine")

        printed = register("--client-id", "machine", "--remove")

        self.assertEqual(printed["#"], ["# machine: not registered, nothing removed"])
        self.assertTrue(Application.objects.filter(client_id="machine").exists())

    def test_bad_input_is_one_clear_error_and_changes_nothing(self):
        factories.application("notes-api", resource_server=True, resource="https://notes.example/")
        Application.objects.create(
            client_id="browser-app",
            client_type=Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        )
        cases = {
            "relative": (BILLING[:2] + ["--resource", "/billing/", "--scopes", "b"], "absolute URI"),
            "fragment": (BILLING[:2] + ["--resource", "https://billing.example/#x", "--scopes", "b"], "no fragment"),
            "query": (BILLING[:2] + ["--resource", "https://billing.example/?a=1", "--scopes", "b"], "no query"),
            "unparsable": (BILLING[:2] + ["--resource", "https://[::1/", "--scopes", "b"], "not a URI"),
            "taken scope": (BILLING[:4] + ["--scopes", "billing:read read"], "Already owned by another API: read"),
            "taken resource": (
                BILLING[:2] + ["--resource", "https://notes.example/", "--scopes", "b"],
                "already exists",
            ),
            "introspection": (BILLING[:4] + ["--scopes", "introspection"], "the issuer's own scope"),
            "bad scope": (BILLING[:4] + ["--scopes", 'say"hi'], "Not a scope name"),
            "no resource": (["--client-id", "billing-api", "--scopes", "b"], "takes --resource and --scopes"),
            "other client": (
                ["--client-id", "browser-app", *BILLING[2:]],
                "not a confidential client-credentials client",
            ),
            "remove and more": (["--client-id", "billing-api", "--remove", "--scopes", "b"], "no other option"),
            "bad client id": (["--client-id", "two words", *BILLING[2:]], "without spaces"),
            "relative events endpoint": ([*BILLING, "--events-endpoint", "/security-events/"], "events_endpoint"),
            "events endpoint not http": ([*BILLING, "--events-endpoint", "ftp://billing.example/"], "events_endpoint"),
        }
        for case, (arguments, message) in cases.items():
            with self.subTest(case), self.assertRaisesMessage(CommandError, message):
                register(*arguments)
        self.assertFalse(Application.objects.filter(client_id="billing-api").exists())
        self.assertEqual(ResourceServer.objects.count(), 1)

    def test_the_secret_is_never_an_option(self):
        with self.assertRaises(CommandError):
            register(*BILLING, "--secret", "chosen")
