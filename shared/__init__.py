"""Code that both Django projects import: settings, health, logging, gunicorn and WSGI glue."""
