"""``migrate_from_sqlite --final``: the cutover's last catch-up, only while the routes writing users.db are frozen."""

from __future__ import annotations

import pytest
from django.core.management import CommandError
from django.test import override_settings

from common import cutover
from users.models import Profile

pytestmark = pytest.mark.django_db(databases=["default", "users"])


@pytest.fixture
def routes_file(tmp_path):
    path = tmp_path / "routes.json"
    with override_settings(GATEWAY_ROUTES_FILE=str(path), CUTOVER_FREEZE_SETTLE_SECONDS=0.0):
        yield path


def freeze(path, *prefixes: str, at: float | None = None) -> None:
    cutover.update_state(
        path, lambda state: state["frozen"].update({prefix: at or cutover.now() for prefix in prefixes})
    )


def test_it_is_refused_while_a_route_still_writes_to_the_monolith(legacy_path, migrate_from_sqlite, routes_file):
    freeze(routes_file, "/api/register", "/api/profile")

    with pytest.raises(CommandError, match="still writing to the monolith: /api/change-password") as refused:
        migrate_from_sqlite(legacy_path, "--final")

    assert "nothing was imported" in str(refused.value)
    assert not Profile.objects.exists()
    assert cutover.read_state(routes_file)["final_catchups"] == {}


def test_with_every_writing_route_frozen_it_imports_and_is_recorded(legacy_path, migrate_from_sqlite, routes_file):
    freeze(routes_file, *cutover.WRITE_ROUTES)
    before = cutover.now()

    run = migrate_from_sqlite(legacy_path, "--final")

    assert Profile.objects.exists()
    assert "final catch-up recorded" in run.stdout
    assert cutover.read_state(routes_file)["final_catchups"]["users"] >= before


def test_a_route_already_on_the_services_need_not_be_frozen(legacy_path, migrate_from_sqlite, routes_file):
    freeze(routes_file, "/api/register", "/api/change-password")
    cutover.update_state(routes_file, lambda state: state["routes"].update({"/api/profile": "users"}))

    migrate_from_sqlite(legacy_path, "--final")

    assert "users" in cutover.read_state(routes_file)["final_catchups"]


def test_it_waits_for_a_fresh_freeze_to_settle():
    state = {**cutover.empty_state(), "frozen": {prefix: 100.0 for prefix in cutover.WRITE_ROUTES}}

    assert cutover.final_catchup_problem(state, now=105.0, settle_seconds=12.0) == (None, 7.0)
    assert cutover.final_catchup_problem(state, now=200.0, settle_seconds=12.0) == (None, 0.0)
