"""Database routing for the auth service."""

from common.routers import ServiceDatabaseRouter


class CredentialsRouter(ServiceDatabaseRouter):
    """The service's apps in the ``credentials`` database; Django's own tables in ``default``.

    ``credentials``: credentials and sessions; ``events``: the event tables (``common``'s
    migrations create them); ``auth_import``:
    where the import of the monolith's users.db stands.
    """

    alias = "credentials"
    app_labels = frozenset({"credentials", "common", "events", "auth_import"})
