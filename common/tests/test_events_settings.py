"""``events_settings``: the app's defaults, a project's ``EVENTS_<NAME>`` over them; the beat entries."""

from __future__ import annotations

import pytest

from common.events.schedule import events_beat_schedule
from common.events.settings import DEFAULTS, events_settings


def test_a_setting_the_project_leaves_alone_is_the_apps_default():
    assert events_settings.MAX_RETRIES == DEFAULTS["MAX_RETRIES"]
    assert events_settings.RELAY_INTERVAL == DEFAULTS["RELAY_INTERVAL"]
    assert events_settings.INFRASTRUCTURE_ERRORS == []


def test_the_projects_setting_wins_and_is_read_at_each_access(settings):
    settings.EVENTS_MAX_RETRIES = 3
    assert events_settings.MAX_RETRIES == 3
    assert events_settings.STATE_TYPES == ["test.state"]  # common/tests/settings.py


def test_an_unknown_setting_is_an_error():
    with pytest.raises(AttributeError, match="no events setting 'MAX_RETRYS'"):
        events_settings.MAX_RETRYS


def test_the_beat_runs_the_relay_and_prunes_under_the_services_task_names():
    assert events_beat_schedule("users", relay_interval=2.0) == {
        "users-events-relay": {"task": "users.events.relay", "schedule": 2.0, "options": {"expires": 10.0}},
        "users-events-prune": {"task": "users.events.prune", "schedule": 3600.0},
    }
    assert events_beat_schedule("auth", relay_interval=4.0)["auth-events-relay"]["options"] == {"expires": 20.0}
    assert events_beat_schedule("auth")["auth-events-relay"]["schedule"] == DEFAULTS["RELAY_INTERVAL"]
