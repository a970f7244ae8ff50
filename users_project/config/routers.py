"""Database routing for the users service."""

from common.routers import ServiceDatabaseRouter


class UsersRouter(ServiceDatabaseRouter):
    """The service's apps in the ``users`` database; Django's own tables in ``default``.

    ``users``: profiles and preferences; ``common``: the event tables; ``users_import``:
    where the import of the monolith's users.db stands.
    """

    alias = "users"
    app_labels = frozenset({"users", "common", "users_import"})
