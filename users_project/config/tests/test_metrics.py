"""The users service's /metrics: beside /health on its own port, with its event tables' backlog."""

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from common.events.models import OutboxEvent, ParkedMessage

pytestmark = pytest.mark.django_db(databases=["default", "users"])


def families(response) -> dict:
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def test_metrics_answer_without_the_internal_credential_and_for_any_host(client):
    OutboxEvent.objects.create(type="user.registered", aggregate_id="1", version=1, payload={})
    ParkedMessage.objects.create(envelope={}, consumer="users", error="boom", attempts=3)
    OutboxEvent.objects.create(
        type="user.registered", aggregate_id="2", version=1, payload={}, sent_at=timezone.now()
    )

    # A scraper reaches a pod by its IP: a Host header no ALLOWED_HOSTS lists.
    response = client.get("/metrics", headers={"Host": "10.1.2.3:8000"})

    assert response.status_code == 200
    found = families(response)
    assert found["events_outbox_backlog"].samples[0].value == 1
    assert found["events_parked_messages"].samples[0].value == 1
    assert {"http_requests", "http_request_duration_seconds", "events_outbox_oldest_unsent_age_seconds"} <= set(found)


def test_an_api_request_refused_for_its_missing_credential_is_counted_under_its_route(client):
    labels = {"route": "api/profile/preferences", "method": "GET", "status": "401"}
    before = REGISTRY.get_sample_value("http_requests_total", labels) or 0.0

    assert client.get("/api/profile/preferences").status_code == 401

    assert REGISTRY.get_sample_value("http_requests_total", labels) == before + 1
