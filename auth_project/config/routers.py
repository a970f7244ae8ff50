"""Database routing for the auth service."""

from common.routers import ServiceDatabaseRouter


class CredentialsRouter(ServiceDatabaseRouter):
    """Credentials, sessions, the event tables and the import's state in ``credentials``; the rest in ``default``."""

    alias = "credentials"
    app_labels = frozenset({"credentials", "common", "events", "auth_import"})
