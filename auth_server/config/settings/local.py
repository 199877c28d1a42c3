"""Local development (``make run``, ``manage.py``): plain HTTP, mail on the console.

DEBUG is off unless DJANGO_DEBUG says otherwise; ``manage.py runserver`` turns it
on, so only the development server shows Django's debug pages.
"""

from .base import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
