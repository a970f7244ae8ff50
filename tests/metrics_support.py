"""Reading a running process's Prometheus metrics in the cross-service tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from http_client import raw_request


def scrape(base_url: str) -> dict:
    """``GET <base_url>/metrics``, which must answer 200: metric family name -> family."""
    status, _, body = raw_request(f"{base_url}/metrics")
    assert status == 200, (base_url, status, body[:200])
    return {family.name: family for family in text_string_to_metric_families(body.decode())}


def sample_value(families: dict, sample: str, labels: dict[str, str] | None = None) -> float:
    """The value of the sample named ``sample`` with exactly ``labels``; 0 when there is none yet."""
    for family in families.values():
        for found in family.samples:
            if found.name == sample and found.labels == (labels or {}):
                return found.value
    return 0.0
