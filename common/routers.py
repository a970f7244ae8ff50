"""The database router every service project subclasses.

A service keeps Django's own tables (staff accounts, admin log, sessions) in
``default`` and its domain data in one database of its own. The router names
the domain app labels explicitly; everything it does not name is left to
Django (``default``), except that nothing but the named apps ever migrates into
the service database, and no relation may join the two databases.
"""

from __future__ import annotations


class ServiceDatabaseRouter:
    """Routes ``app_labels`` to ``alias``. Subclasses set both."""

    alias: str
    app_labels: frozenset[str]

    def _owns(self, model) -> bool:
        return model._meta.app_label in self.app_labels

    def db_for_read(self, model, **hints):
        return self.alias if self._owns(model) else None

    def db_for_write(self, model, **hints):
        return self.alias if self._owns(model) else None

    def allow_relation(self, obj1, obj2, **hints):
        owned = (self._owns(obj1), self._owns(obj2))
        if all(owned):
            return True
        if any(owned):
            return False  # one side in the service database, the other not
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label in self.app_labels:
            return db == self.alias
        if db == self.alias:
            return False  # the service database holds the service's apps only
        return None
