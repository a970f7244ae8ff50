"""Database routing for the users service."""

from common.routers import ServiceDatabaseRouter


class UsersRouter(ServiceDatabaseRouter):
    """The service's apps in the ``users`` database; Django's own tables in ``default``.

    ``users``: profiles and preferences; ``events``: the event tables (``common``'s
    migrations create them); ``users_import``:
    where the import of the monolith's users.db stands.
    """

    alias = "users"
    app_labels = frozenset({"users", "common", "events", "users_import"})
