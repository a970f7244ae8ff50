from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The event machinery as one app: its tables, tasks, ``events`` command and metrics.

    A service installs it and plugs in what is its own (``EVENTS_HANDLERS``,
    ``EVENTS_INFRASTRUCTURE_ERRORS``, ``common.events.settings``); the app knows
    nothing of any service.
    """

    name = "common.events"
    label = "events"
    verbose_name = "Events"
    default_auto_field = "django.db.models.BigAutoField"
