"""Request metrics, where ``/metrics`` answers, the event tables' gauges, and gunicorn's metrics directory."""

from __future__ import annotations

import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import OperationalError
from django.db.models import QuerySet
from django.test import override_settings
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from common import gunicorn_conf
from common.metrics import bind_port
from common.events.models import OutboxEvent, ParkedMessage

EVENT_TABLES = ["common.events.metrics.EventTablesCollector"]


class ArrivedOn:
    def __init__(self, port: int):
        self.port = port

    def getsockname(self):
        return ("10.0.0.5", self.port)


def counted(route: str, method: str, status: int) -> float:
    labels = {"route": route, "method": method, "status": str(status)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def scrape(client, **extra) -> dict:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def value(families: dict, name: str) -> float:
    [sample] = families[name].samples
    return sample.value


@pytest.mark.parametrize(
    ("bind", "port"),
    [
        ("0.0.0.0:9100", 9100),
        ("127.0.0.1:8010", 8010),
        ("[::]:9100", 9100),
        ("", None),
        ("9100", None),
        ("unix:/run/metrics.sock", None),
        ("host:", None),
    ],
)
def test_the_metrics_port_is_read_from_a_host_and_port(bind, port):
    assert bind_port(bind) == port


# REQUESTS
# ------------------------------------------------------------------------------


def test_requests_are_counted_by_url_pattern_method_and_status(client):
    before = counted("health", "GET", 200), counted("unmatched", "GET", 404), counted("echo", "POST", 200)

    client.get("/health")
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")
    client.post("/echo", data={}, content_type="application/json")

    assert counted("health", "GET", 200) == before[0] + 1
    assert counted("unmatched", "GET", 404) == before[1] + 2
    assert counted("echo", "POST", 200) == before[2] + 1
    assert counted("/no/such/path/1", "GET", 404) == 0.0


@override_settings(
    SERVICE_NAME="common-tests",
    MIDDLEWARE=[
        "common.middleware.RequestIdMiddleware",
        "common.metrics.MetricsMiddleware",
        "common.internal_auth.InternalAuthMiddleware",
    ],
)
def test_a_middleware_refusal_before_url_resolution_is_counted_under_the_url_pattern(client):
    before = counted("echo", "POST", 401)

    assert client.post("/echo", data={}, content_type="application/json").status_code == 401

    assert counted("echo", "POST", 401) == before + 1


def test_a_server_error_is_counted_as_a_500(client):
    client.raise_request_exception = False
    before = counted("crash", "GET", 500)

    assert client.get("/crash").status_code == 500

    assert counted("crash", "GET", 500) == before + 1


# WHERE /metrics ANSWERS
# ------------------------------------------------------------------------------


@override_settings(METRICS_BIND="")
def test_a_service_without_a_metrics_address_answers_on_any(client):
    client.get("/health")
    families = scrape(client)
    assert {"http_requests", "http_request_duration_seconds"} <= set(families)


@override_settings(METRICS_BIND="0.0.0.0:9100")
def test_with_a_metrics_address_only_requests_arriving_there_are_answered(client):
    assert scrape(client, **{"gunicorn.socket": ArrivedOn(9100)})
    for extra in ({"gunicorn.socket": ArrivedOn(8000)}, {}, {"SERVER_PORT": "9100"}):
        response = client.get("/metrics", **extra)
        assert (response.status_code, response.json()) == (404, {"error": "Not found"})


@override_settings(METRICS_BIND="", METRICS_ONLY_ON_METRICS_BIND=True)
def test_a_project_serving_metrics_only_on_a_metrics_address_serves_none_without_one(client):
    for method in ("get", "post", "put"):
        response = getattr(client, method)("/metrics", **{"gunicorn.socket": ArrivedOn(8000)})
        assert (response.status_code, response.json()) == (404, {"error": "Not found"})


@override_settings(METRICS_BIND="")
def test_other_methods_are_refused_as_json(client):
    response = client.post("/metrics")
    assert (response.status_code, response["Allow"], response.json()) == (
        405,
        "GET, HEAD",
        {"error": "Method not allowed"},
    )


# THE EVENT TABLES, READ WHEN SCRAPED
# ------------------------------------------------------------------------------


def outbox_event(*, sent: bool, age: timedelta) -> OutboxEvent:
    now = timezone.now()
    return OutboxEvent.objects.create(
        type="test.fact",
        aggregate_id="1",
        version=1,
        payload={},
        occurred_at=now - age,
        sent_at=now if sent else None,
    )


def parked_message(*, replayed: bool) -> ParkedMessage:
    return ParkedMessage.objects.create(
        envelope={},
        consumer="common-tests",
        error="boom",
        attempts=3,
        replayed_at=timezone.now() if replayed else None,
    )


@pytest.mark.django_db
@override_settings(METRICS_BIND="", METRICS_SCRAPE_COLLECTORS=EVENT_TABLES)
def test_the_outbox_backlog_and_parked_messages_are_read_when_scraped(client):
    families = scrape(client)
    assert (value(families, "events_outbox_backlog"), value(families, "events_parked_messages")) == (0, 0)
    assert value(families, "events_outbox_oldest_unsent_age_seconds") == 0

    outbox_event(sent=False, age=timedelta(minutes=2))
    outbox_event(sent=False, age=timedelta(seconds=1))
    outbox_event(sent=True, age=timedelta(hours=1))
    parked_message(replayed=False)
    parked_message(replayed=True)

    families = scrape(client)
    assert value(families, "events_outbox_backlog") == 2
    assert 120 <= value(families, "events_outbox_oldest_unsent_age_seconds") < 180
    assert value(families, "events_parked_messages") == 1


@pytest.mark.django_db
@override_settings(METRICS_BIND="", METRICS_SCRAPE_COLLECTORS=EVENT_TABLES)
def test_a_database_that_does_not_answer_leaves_the_event_figures_out_of_a_scrape_that_still_works(
    client, monkeypatch
):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(QuerySet, "aggregate", unreachable)

    families = scrape(client)
    assert "http_requests" in families
    assert "events_outbox_backlog" not in families


# GUNICORN: one metrics directory per server, fresh at start
# ------------------------------------------------------------------------------


class FakeConfig:
    def __init__(self, bind: list[str]):
        self.bind = bind

    def set(self, name: str, value) -> None:
        setattr(self, name, value)


def test_gunicorn_starts_with_an_empty_metrics_directory_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # restored after the test
    monkeypatch.delenv("METRICS_BIND", raising=False)
    server = SimpleNamespace(cfg=FakeConfig(["127.0.0.1:8001"]))
    directory = gunicorn_conf.metrics_directory(gunicorn_conf._service, "127.0.0.1:8001")
    directory.mkdir(parents=True)
    (directory / "counter_4242.db").write_bytes(b"left by the last run")

    gunicorn_conf.on_starting(server)

    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory)
    assert directory.is_dir() and list(directory.iterdir()) == []
    assert directory.name == "127.0.0.1-8001"
    assert gunicorn_conf.metrics_directory(gunicorn_conf._service, "127.0.0.1:8002") != directory
    assert server.cfg.bind == ["127.0.0.1:8001"]


def test_metrics_bind_becomes_a_second_listener_once(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.setenv("METRICS_BIND", "0.0.0.0:9100")
    server = SimpleNamespace(cfg=FakeConfig(["0.0.0.0:8000"]))

    gunicorn_conf.on_starting(server)
    gunicorn_conf.on_starting(server)

    assert server.cfg.bind == ["0.0.0.0:8000", "0.0.0.0:9100"]


def test_a_dead_workers_live_gauges_are_dropped(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")

    gunicorn_conf.child_exit(SimpleNamespace(), SimpleNamespace(pid=4242))

    assert sorted(path.name for path in tmp_path.iterdir()) == ["counter_4242.db"]
