"""Database routing for the users service."""

from common.routers import ServiceDatabaseRouter


class UsersRouter(ServiceDatabaseRouter):
    """Profiles, preferences, the event tables and the import's state in ``users``; the rest in ``default``."""

    alias = "users"
    app_labels = frozenset({"users", "common", "events", "users_import"})
