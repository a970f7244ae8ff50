import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_profiles_from_before_the_registration_saga_become_active():
    connection = connections["users"]
    executor = MigrationExecutor(connection)
    executor.migrate([("users", "0001_initial")])
    old_apps = executor.loader.project_state([("users", "0001_initial")]).apps
    old_apps.get_model("users", "Profile").objects.using("users").create(
        email="legacy@example.com", email_canonical="legacy@example.com"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("users"))

    new_apps = executor.loader.project_state(executor.loader.graph.leaf_nodes("users")).apps
    profile = new_apps.get_model("users", "Profile").objects.using("users").get()
    assert profile.status == "active"
