"""The pages under /accounts/: signing in and out, the account page and password reset."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.decorators.cache import never_cache

from . import branding, views

# Django's own views with our templates; registration/ names are avoided where the admin's
# templates of the same name would win.
PASSWORD_RESET_MAIL = {
    "email_template_name": "authorization/password_reset_email.txt",
    "subject_template_name": "authorization/password_reset_subject.txt",
    # Mail is rendered without the pages' context processors.
    "extra_email_context": {"brand_name": branding.NAME},
}
urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("profile/", views.AccountView.as_view(), name="account"),
    path(
        "password_reset/",
        never_cache(
            auth_views.PasswordResetView.as_view(
                template_name="authorization/password_reset_form.html", **PASSWORD_RESET_MAIL
            )
        ),
        name="password_reset",
    ),
    path(
        "password_reset/done/",
        never_cache(auth_views.PasswordResetDoneView.as_view(template_name="authorization/password_reset_done.html")),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(template_name="authorization/password_reset_confirm.html"),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        never_cache(
            auth_views.PasswordResetCompleteView.as_view(template_name="authorization/password_reset_complete.html")
        ),
        name="password_reset_complete",
    ),
]
