"""Development: DEBUG on, everything else as in base (``make run``, unit tests)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
