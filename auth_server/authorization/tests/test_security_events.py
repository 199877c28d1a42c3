"""Which change makes which Security Event Token, for which API, signed how (authorization.security_events)."""

import base64
import io
import json
import uuid
from contextlib import contextmanager, suppress
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import TestCase, override_settings
from django.urls import reverse
from jwcrypto import jwk, jws, jwt
from oauth2_provider.models import revoke_access_token

from authorization import accounts, registration, security_events, set_push
from authorization.introspection import checksum
from authorization.models import ResourceServer, Subject

from . import factories
from .factories import AccessToken, Application, RefreshToken

ISSUER = "https://issuer.example"
NOTES = "http://notes.example/"
TEAM = "http://team.example/"
FAMILY = uuid.UUID("6f1c1f9e-5d2b-4a57-8a3e-2b1e0d8a7c10")
SESSION_REVOKED = security_events.SESSION_REVOKED
# Outside a request the issuer comes from OAUTH_ISSUER.
with_issuer = override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": ISSUER})


def api(client_id, resource, endpoint="", **fields):
    """A registered API with its own client; ``endpoint`` defaults to /security-events/ at its resource."""
    app = factories.application(client_id, resource_server=True, scopes=client_id + ":read", resource=resource)
    ResourceServer.objects.filter(application=app).update(
        events_endpoint=endpoint or resource + "security-events/", **fields
    )
    return ResourceServer.objects.get(application=app)


class EventTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.notes = api("notes", NOTES)
        cls.team = api("team", TEAM)
        cls.app = factories.application("app")
        cls.user = factories.user()  # PBKDF2: once per class

    @contextmanager
    def pushed(self):
        """What committing the block pushes: a list of (Delivery, its header, its claims)."""
        sent = []
        with mock.patch.object(set_push, "push", sent.append), self.captureOnCommitCallbacks(execute=True):
            yield sent
        sent[:] = [(delivery, *decoded(delivery.serialize())) for delivery in sent]

    def admin_client(self):
        self.client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.com", None))
        return self.client

    def token(self, value="access-1", **fields):
        return factories.access_token(value, self.app, user=self.user, **fields)

    def events(self, sent) -> list[tuple[str, str, str]]:
        """(event short name, sub_id id or sub, aud) of each pushed SET, sorted."""
        return sorted(
            (delivery.event, claims["sub_id"].get("id") or claims["sub_id"]["sub"], claims["aud"])
            for delivery, _, claims in sent
        )


def revoke_and_roll_back(value: str) -> None:
    """Revoke a token in a savepoint that is then rolled back."""
    with suppress(RuntimeError), transaction.atomic():
        AccessToken.objects.get(token_checksum=checksum(value)).revoke()
        raise RuntimeError


def decoded(serialized: str) -> tuple[dict, dict]:
    header, payload, _ = serialized.split(".")
    return tuple(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in (header, payload))


@with_issuer
class SignedEventTests(EventTestCase):
    def test_a_set_verifies_against_the_jwks_the_as_serves_and_names_its_event(self):
        self.token()
        with self.pushed() as sent:
            AccessToken.objects.get().revoke()

        jwks = jwk.JWKSet.from_json(self.client.get(reverse("oauth2_provider:jwks-info")).content)
        for delivery, header, claims in sent:
            self.assertEqual(header, {"alg": "RS256", "typ": "secevent+jwt", "kid": header["kid"]})
            self.assertIsNotNone(jwks.get_key(header["kid"]))
            verified = jwt.JWT(jwt=delivery.serialize(), key=jwks, algs=["RS256"])
            claims = json.loads(verified.claims)
            self.assertEqual(set(claims), {"iss", "aud", "iat", "jti", "sub_id", "events"})  # no txn outside a request
            self.assertEqual(claims["iss"], ISSUER)
            self.assertEqual(claims["aud"], delivery.audience)
            self.assertIsInstance(claims["iat"], int)
            self.assertEqual(claims["jti"], delivery.jti)
            self.assertEqual(len(claims["jti"]), 32)
            self.assertEqual(claims["sub_id"], {"format": "opaque", "id": checksum("access-1")})
            self.assertEqual(claims["events"], {SESSION_REVOKED: {}})
        self.assertEqual(
            {delivery.endpoint for delivery, _, _ in sent}, {NOTES + "security-events/", TEAM + "security-events/"}
        )
        self.assertEqual(len({claims["jti"] for _, _, claims in sent}), 2)

    def test_another_key_does_not_verify(self):
        self.token()
        with self.pushed() as sent:
            AccessToken.objects.get().revoke()

        other = jwk.JWK.generate(kty="RSA", size=2048)
        with self.assertRaises(jws.InvalidJWSSignature):
            jwt.JWT(jwt=sent[0][0].serialize(), key=other, algs=["RS256"])

    def test_a_deactivated_user_is_one_account_disabled_event_by_subject(self):
        with self.pushed() as sent:
            self.user.is_active = False
            self.user.save()

        subject = str(Subject.of(self.user).value)
        self.assertEqual(self.events(sent), [("account-disabled", subject, NOTES), ("account-disabled", subject, TEAM)])
        _, _, claims = sent[0]
        self.assertEqual(claims["sub_id"], {"format": "iss_sub", "iss": ISSUER, "sub": subject})
        self.assertEqual(claims["events"], {security_events.ACCOUNT_DISABLED: {}})

    def test_saving_an_active_or_already_inactive_user_is_no_event(self):
        with self.pushed() as sent:
            self.user.save()
            self.user.save(update_fields=["last_login"])
            self.user.is_active = False
            self.user.save(update_fields=["last_login"])  # is_active not saved
            inactive = type(self.user).objects.create_user("bob", is_active=False)
            inactive.save()

        self.assertEqual(sent, [])

    def test_a_removed_client_is_one_credential_change_and_covers_its_tokens(self):
        for number in range(5):
            self.token(f"access-{number}")

        with self.pushed() as sent:
            self.app.delete()

        self.assertEqual(self.events(sent), [("credential-change", "app", NOTES), ("credential-change", "app", TEAM)])
        self.assertEqual(
            sent[0][2]["events"],
            {security_events.CREDENTIAL_CHANGE: {"credential_type": "client_secret", "change_type": "delete"}},
        )

    def test_a_disabled_api_is_told_and_then_gets_nothing_else(self):
        self.token()
        with self.pushed() as sent:
            registration.register("team", enabled=False)
            AccessToken.objects.get().revoke()

        self.assertEqual(
            self.events(sent),
            [("session-revoked", checksum("access-1"), NOTES), ("stream-updated", TEAM, TEAM)],
        )
        stream = next(claims for delivery, _, claims in sent if delivery.event == "stream-updated")
        self.assertEqual(stream["sub_id"], {"format": "opaque", "id": TEAM})
        self.assertEqual(stream["events"], {security_events.STREAM_UPDATED: {"status": "disabled"}})

    def test_a_removed_api_is_told_and_the_others_hear_its_client_is_gone(self):
        with self.pushed() as sent:
            registration.remove("team")

        self.assertEqual(self.events(sent), [("credential-change", "team", NOTES), ("stream-updated", TEAM, TEAM)])

    def test_an_api_disabled_in_the_admins_list_is_told(self):
        client = self.admin_client()
        form = {
            "form-TOTAL_FORMS": "2",
            "form-INITIAL_FORMS": "2",
            "form-0-id": str(self.notes.pk),
            "form-0-enabled": "on",
            "form-1-id": str(self.team.pk),  # enabled left unchecked
            "_save": "Save",
        }
        with self.pushed() as sent:
            response = client.post(reverse("admin:authorization_resourceserver_changelist"), form)

        self.assertEqual(response.status_code, 302)
        self.assertFalse(ResourceServer.objects.get(pk=self.team.pk).enabled)
        self.assertEqual(self.events(sent), [("stream-updated", TEAM, TEAM)])

    def test_removing_a_disabled_api_tells_it_nothing_more(self):
        ResourceServer.objects.filter(pk=self.team.pk).update(enabled=False)
        with self.pushed() as sent:
            ResourceServer.objects.get(pk=self.team.pk).delete()

        self.assertEqual(sent, [])

    def test_an_api_without_endpoint_gets_nothing(self):
        ResourceServer.objects.filter(pk=self.team.pk).update(events_endpoint="")
        self.token()
        with self.pushed() as sent:
            AccessToken.objects.get().revoke()

        self.assertEqual(self.events(sent), [("session-revoked", checksum("access-1"), NOTES)])


@with_issuer
class AccountTests(EventTestCase):
    """Each supported way to deactivate or delete a user is one account-disabled per API."""

    def setUp(self):
        self.inactive = get_user_model().objects.create_user("bob", is_active=False)

    def assertDisabled(self, sent, *users):
        subjects = [str(Subject.of(user).value) for user in users]
        self.assertEqual(
            self.events(sent), sorted(("account-disabled", sub, aud) for sub in subjects for aud in (NOTES, TEAM))
        )

    def test_deactivate_saves_each_active_user_so_that_each_is_announced(self):
        # A queryset update(is_active=False) runs no signal and so tells no API.
        with self.pushed() as sent:
            changed = accounts.deactivate(get_user_model().objects.filter(pk__in=[self.user.pk, self.inactive.pk]))

        self.assertEqual(changed, [self.user])
        self.assertFalse(get_user_model().objects.get(pk=self.user.pk).is_active)
        self.assertDisabled(sent, self.user)

    def test_deactivate_user_command_announces_and_refuses_unknown_names_before_any_change(self):
        with self.pushed() as sent, self.assertRaisesMessage(CommandError, "No such user: nobody."):
            call_command("deactivate_user", "alice", "nobody", stdout=io.StringIO())
        self.assertEqual(sent, [])
        self.assertTrue(get_user_model().objects.get(pk=self.user.pk).is_active)

        out = io.StringIO()
        with self.pushed() as sent:
            call_command("deactivate_user", "alice", "bob", stdout=out)

        self.assertEqual(out.getvalue(), "# alice: deactivated\n# bob: already inactive\n")
        self.assertDisabled(sent, self.user)

    def test_the_admin_change_form_announces(self):
        client = self.admin_client()
        user = get_user_model().objects.get(pk=self.user.pk)
        form = {
            "username": user.username,
            "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        }  # is_active left unchecked
        with self.pushed() as sent:
            response = client.post(reverse("admin:auth_user_change", args=[user.pk]), form)

        self.assertEqual(response.status_code, 302)
        self.assertFalse(get_user_model().objects.get(pk=user.pk).is_active)
        self.assertDisabled(sent, self.user)

    def test_the_admin_bulk_deactivation_announces_each_user(self):
        client = self.admin_client()
        other = factories.user("carol")
        selected = [self.user.pk, other.pk, self.inactive.pk]
        with self.pushed() as sent:
            response = client.post(
                reverse("admin:auth_user_changelist"), {"action": "deactivate", "_selected_action": selected}
            )

        self.assertEqual(response.status_code, 302)
        self.assertEqual(get_user_model().objects.filter(pk__in=selected, is_active=True).count(), 0)
        self.assertDisabled(sent, self.user, other)

    def test_a_deleted_user_is_one_account_disabled_per_api_covering_its_tokens(self):
        for number in range(5):
            self.token(f"access-{number}")
        subject = str(Subject.of(self.user).value)

        with self.pushed() as sent:
            self.user.delete()

        self.assertEqual(self.events(sent), [("account-disabled", subject, NOTES), ("account-disabled", subject, TEAM)])

    def test_the_admin_bulk_delete_announces_each_user_once(self):
        # Without tokens: DOT's admin forbids deleting tokens, so it refuses to delete a user who has some.
        client = self.admin_client()
        with self.pushed() as sent:
            response = client.post(
                reverse("admin:auth_user_changelist"),
                {"action": "delete_selected", "_selected_action": [self.user.pk], "post": "yes"},
            )

        self.assertEqual(response.status_code, 302)
        self.assertFalse(get_user_model().objects.filter(pk=self.user.pk).exists())
        self.assertDisabled(sent, self.user)


@with_issuer
class TargetTests(EventTestCase):
    def test_a_token_bound_to_one_api_is_told_to_that_api_only(self):
        self.token(resource=[TEAM])
        with self.pushed() as sent:
            AccessToken.objects.get().revoke()

        self.assertEqual(self.events(sent), [("session-revoked", checksum("access-1"), TEAM)])

    def test_a_token_without_resource_is_told_to_every_api(self):
        self.token()
        with self.pushed() as sent:
            AccessToken.objects.get().revoke()

        self.assertEqual([claims["aud"] for _, _, claims in sorted(sent, key=lambda s: s[2]["aud"])], [NOTES, TEAM])

    def test_a_disabled_api_gets_no_token_event(self):
        ResourceServer.objects.filter(pk=self.team.pk).update(enabled=False)
        self.token()
        with self.pushed() as sent:
            AccessToken.objects.get().revoke()

        self.assertEqual([claims["aud"] for _, _, claims in sent], [NOTES])


@with_issuer
class TransactionTests(EventTestCase):
    def test_a_rolled_back_change_sends_nothing(self):
        self.token()
        with self.pushed() as sent, self.assertRaises(RuntimeError), transaction.atomic():
            AccessToken.objects.get().revoke()
            raise RuntimeError

        self.assertEqual(sent, [])
        self.assertTrue(AccessToken.objects.exists())

    def test_a_rolled_back_savepoint_sends_nothing_of_its_own(self):
        self.token("kept")
        self.token("deleted")
        with self.pushed() as sent, transaction.atomic():
            revoke_and_roll_back("kept")
            AccessToken.objects.get(token_checksum=checksum("deleted")).revoke()

        self.assertEqual({claims["sub_id"]["id"] for _, _, claims in sent}, {checksum("deleted")})

    def test_what_a_rolled_back_last_event_leaves_goes_when_the_request_ends(self):
        self.token("first")
        self.token("second")
        sent = []
        with mock.patch.object(set_push, "push", sent.append):
            with self.captureOnCommitCallbacks(execute=True):
                AccessToken.objects.get(token_checksum=checksum("first")).revoke()
                revoke_and_roll_back("second")
            self.assertEqual(sent, [])
            security_events.outbox.send()  # connected to request_finished

        self.assertEqual({decoded(d.serialize())[1]["sub_id"]["id"] for d in sent}, {checksum("first")})
        self.assertEqual(len(sent), 2)

    def test_an_expired_token_deleted_is_no_event(self):
        self.token(expires_in=-1)
        with self.pushed() as sent:
            AccessToken.objects.all().delete()

        self.assertEqual(sent, [])

    def test_a_subject_event_covers_its_users_tokens_in_the_same_commit(self):
        self.token("mine")
        other = factories.access_token("theirs", self.app, user=factories.user("bob"))
        with self.pushed() as sent, transaction.atomic():
            self.user.is_active = False
            self.user.save()
            AccessToken.objects.filter(pk__in=[AccessToken.objects.get(user=self.user).pk, other.pk]).delete()

        names = {(delivery.event, claims["sub_id"].get("id")) for delivery, _, claims in sent}
        self.assertEqual(names, {("account-disabled", None), ("session-revoked", checksum("theirs"))})


class IssuerTests(EventTestCase):
    def test_a_notice_that_cannot_be_made_fails_no_change(self):
        self.token()
        with (
            mock.patch.object(security_events, "targets", side_effect=RuntimeError("database gone")),
            self.assertLogs("authorization.security_events", "ERROR"),
            self.pushed() as sent,
        ):
            AccessToken.objects.get().revoke()

        self.assertEqual(sent, [])
        self.assertFalse(AccessToken.objects.exists())

    def test_without_issuer_nothing_is_sent_and_oauth_issuer_is_named(self):
        self.token()
        with self.assertLogs("authorization.security_events", "WARNING") as logs, self.pushed() as sent:
            AccessToken.objects.get().revoke()

        self.assertEqual(sent, [])
        self.assertEqual(len(logs.output), 1)
        self.assertIn("OAUTH_ISSUER", logs.output[0])

    def test_in_a_request_the_issuer_is_the_one_introspection_answers_name_and_txn_its_request_id(self):
        token = self.token()
        credentials = base64.b64encode(b"app:secret-" + b"x" * 40).decode()
        with self.pushed() as sent:
            response = self.client.post(
                reverse("oauth2_provider:revoke-token"),
                {"token": "access-1"},
                HTTP_AUTHORIZATION="Basic " + credentials,
                HTTP_X_REQUEST_ID="revoke-request-1",
            )

        self.assertEqual(response.status_code, 200)
        self.assertFalse(AccessToken.objects.filter(pk=token.pk).exists())
        self.assertEqual({claims["iss"] for _, _, claims in sent}, {"http://testserver"})
        self.assertEqual({claims["txn"] for _, _, claims in sent}, {"revoke-request-1"})


@with_issuer
class RevocationPathTests(EventTestCase):
    """Every way DOT deletes an access token is one session-revoked per API (post_delete fires for each)."""

    def assertRevoked(self, sent, *values):
        self.assertEqual(
            self.events(sent),
            sorted(("session-revoked", checksum(value), aud) for value in values for aud in (NOTES, TEAM)),
        )

    def test_access_token_revoke(self):
        self.token()
        with self.pushed() as sent:
            AccessToken.objects.get().revoke()
        self.assertRevoked(sent, "access-1")

    def test_refresh_token_revoke_deletes_its_access_token(self):
        factories.refresh_token("refresh-1", self.app, self.user, self.token())
        with self.pushed() as sent:
            RefreshToken.objects.get().revoke()
        self.assertRevoked(sent, "access-1")

    def test_revoke_access_token_as_rfc_7009_the_admin_and_authorized_apps_do(self):
        factories.refresh_token("refresh-1", self.app, self.user, self.token())
        with self.pushed() as sent:
            revoke_access_token(AccessToken.objects.get())
        self.assertRevoked(sent, "access-1")

    def test_revoke_family_deletes_with_a_queryset(self):
        first = factories.refresh_token("refresh-1", self.app, self.user, self.token("access-1"))
        second = factories.refresh_token("refresh-2", self.app, self.user, self.token("access-2"))
        RefreshToken.objects.filter(pk__in=[first.pk, second.pk]).update(token_family=FAMILY)
        with self.pushed() as sent:
            RefreshToken.revoke_family(FAMILY)
        self.assertRevoked(sent, "access-1", "access-2")

    def test_queryset_delete_as_the_admin_does(self):
        self.token("access-1")
        self.token("access-2")
        with self.pushed() as sent:
            AccessToken.objects.all().delete()
        self.assertRevoked(sent, "access-1", "access-2")

    def test_refresh_rotation_and_replay_at_the_token_endpoint(self):
        app = Application.objects.create(
            client_id="web",
            client_secret="web-secret-" + "x" * 40,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris="https://web.example/cb",
        )
        access = factories.access_token("access-1", app, user=self.user)
        factories.refresh_token("refresh-1", app, self.user, access)
        RefreshToken.objects.update(token_family=FAMILY)
        credentials = "Basic " + base64.b64encode(b"web:web-secret-" + b"x" * 40).decode()

        def refresh():
            return self.client.post(
                reverse("oauth2_provider:token"),
                {"grant_type": "refresh_token", "refresh_token": "refresh-1"},
                HTTP_AUTHORIZATION=credentials,
            )

        with self.pushed() as rotated:
            self.assertEqual(refresh().status_code, 200)
        self.assertRevoked(rotated, "access-1")
        new_access = AccessToken.objects.get(application=app)

        with self.pushed() as replayed:
            self.assertEqual(refresh().status_code, 400)  # RFC 9700 §4.14.2: the family is revoked
        self.assertFalse(AccessToken.objects.filter(pk=new_access.pk).exists())
        self.assertEqual({claims["sub_id"]["id"] for _, _, claims in replayed}, {new_access.token_checksum})


@with_issuer
class SecretRotationTests(EventTestCase):
    def test_a_new_secret_revokes_the_clients_tokens_in_one_credential_change(self):
        refresh = factories.refresh_token("refresh-1", self.app, self.user, self.token("access-1"))
        self.token("access-2")
        other = factories.access_token("other", factories.application("other"))

        with self.pushed() as sent:
            outcome = registration.save_client("app", "a-new-secret-" + "y" * 40)

        self.assertTrue(outcome.changed)
        self.assertFalse(AccessToken.objects.filter(application=self.app).exists())
        self.assertIsNotNone(RefreshToken.objects.get(pk=refresh.pk).revoked)
        self.assertTrue(AccessToken.objects.filter(pk=other.pk).exists())
        self.assertEqual(self.events(sent), [("credential-change", "app", NOTES), ("credential-change", "app", TEAM)])
        self.assertEqual(
            sent[0][2]["events"],
            {security_events.CREDENTIAL_CHANGE: {"credential_type": "client_secret", "change_type": "update"}},
        )

    def test_a_rehash_of_the_same_secret_is_no_rotation(self):
        secret = "the-same-secret-" + "z" * 40
        Application.objects.filter(pk=self.app.pk).update(client_secret=make_password(secret))  # PBKDF2
        self.token()

        with self.pushed() as sent:
            outcome = registration.save_client("app", secret)

        self.assertTrue(outcome.changed)
        self.assertTrue(Application.objects.get(pk=self.app.pk).client_secret.startswith("client_secret_sha256$"))
        self.assertTrue(AccessToken.objects.exists())
        self.assertEqual(sent, [])

    def test_registering_a_new_api_is_no_rotation(self):
        with self.pushed() as sent:
            registration.register("billing", resource="http://billing.example/", scopes="billing:read")
            registration.save_client("machine", "machine-secret-" + "m" * 40, name="Machine")

        self.assertEqual(sent, [])

    def test_a_new_secret_in_the_admins_change_form_is_a_rotation(self):
        client = self.admin_client()
        self.token()
        form = {
            "client_id": "app",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
            "client_secret": "an-admin-typed-secret-" + "a" * 40,
            "hash_client_secret": "on",
            "algorithm": "",
        }
        with self.pushed() as sent:
            response = client.post(reverse("admin:oauth2_provider_application_change", args=[self.app.pk]), form)

        self.assertEqual(response.status_code, 302)
        self.assertFalse(AccessToken.objects.exists())
        self.assertEqual(self.events(sent), [("credential-change", "app", NOTES), ("credential-change", "app", TEAM)])

    def test_saving_a_client_without_touching_its_secret_is_no_rotation(self):
        self.token()
        with self.pushed() as sent:
            self.app.name = "Renamed"
            self.app.save()

        self.assertTrue(AccessToken.objects.exists())
        self.assertEqual(sent, [])
