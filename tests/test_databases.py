"""After ``migrate``, each table is in its service's database and nowhere else."""

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Tables of Django's own that belong in each project's "default" database.
DJANGO_TABLES = {"auth_user", "auth_group", "django_admin_log", "django_session", "django_content_type"}
# The event machinery's tables (the ``common`` app), beside each service's data: an event commits with its change.
EVENT_TABLES = {"common_outboxevent", "common_inboxevent", "common_aggregateversion", "common_parkedmessage"}
USERS_TABLES = {"users_profile", "users_preferences", "users_accountactivity", "users_accountactivityentry"}
AUTH_TABLES = {"credentials_credential", "credentials_refreshtokenrecord"}
LAYOUT = {
    # (service, alias): tables that must be there; the service database holds nothing else.
    # The staff trail and sign-in trail, the sign-in lockouts and the TOTP devices, beside the staff accounts.
    ("users", "default"): DJANGO_TABLES
    | {"support_staffaction", "support_staffsignin", "axes_accessattempt", "otp_totp_totpdevice"},
    ("users", "users"): USERS_TABLES | EVENT_TABLES | {"users_import_importrun", "users_import_legacyrowstate"},
    ("auth", "default"): DJANGO_TABLES,
    ("auth", "credentials"): AUTH_TABLES | EVENT_TABLES | {"auth_import_importrun", "auth_import_legacyrowstate"},
}
SERVICE_TABLES = LAYOUT[("users", "users")] | LAYOUT[("auth", "credentials")]


def table_names(env: dict, service: str, alias: str) -> set[str]:
    url = env.get(f"{service.upper()}_DB_{alias.upper()}_URL")
    if url is None:
        path = Path(env["VAR_DIR"]) / service / f"{alias}.sqlite3"
        with sqlite3.connect(path) as connection:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {name for (name,) in rows if not name.startswith("sqlite_")}
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {name for (name,) in cursor.fetchall()}
    finally:
        connection.close()


@pytest.mark.parametrize(("service", "alias"), list(LAYOUT))
def test_every_table_is_in_the_right_database_and_nowhere_else(running_system, service, alias):
    system, _ = running_system
    tables = table_names(system.config.env, service, alias) - {"django_migrations"}
    assert LAYOUT[(service, alias)] <= tables
    if alias == "default":
        assert not tables & SERVICE_TABLES
    else:
        assert tables == LAYOUT[(service, alias)]
