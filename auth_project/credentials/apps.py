from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "credentials"
    label = "credentials"
    verbose_name = "Credentials"

    def ready(self):
        # Registered at start-up, so a scrape before the first login reports them (at 0).
        from . import metrics  # noqa: F401
