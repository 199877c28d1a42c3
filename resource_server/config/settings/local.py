"""Local development (``make run``, ``manage.py``): plain HTTP.

DEBUG is off unless DJANGO_DEBUG says otherwise; ``manage.py runserver`` turns it
on, so only the development server shows Django's debug pages.
"""

from .base import *  # noqa: F403
