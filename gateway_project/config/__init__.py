"""The gateway project's configuration: settings, URLs, WSGI, Celery, database router."""
