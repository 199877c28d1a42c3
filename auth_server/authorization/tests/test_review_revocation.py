"""Review: changes that revoke at the AS but that the APIs are never told of."""

from django.contrib.auth import get_user_model

from .test_security_events import EventTestCase, with_issuer


@with_issuer
class UntoldChangeTests(EventTestCase):
    def test_a_user_deactivated_by_a_queryset_update_is_announced(self):
        # The common bulk way to lock accounts (a shell, a script, a data migration, a custom
        # admin action): no pre_save signal runs, so the APIs keep the user's cached answers
        # for the whole caching window although introspection already refuses them.
        with self.pushed() as sent:
            get_user_model().objects.filter(pk=self.user.pk).update(is_active=False)

        self.assertEqual([delivery.event for delivery, _, _ in sent], ["account-disabled"] * 2)
