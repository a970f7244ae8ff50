"""The auth service's login metrics, as /metrics reports them."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from credentials.tests.data import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


def login_figures(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    found = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    assert {"events_outbox_backlog", "events_parked_messages"} <= set(found)
    figures = {"success": found["auth_login_successes"].samples[0].value}
    for sample in found["auth_login_failures"].samples:
        if sample.name == "auth_login_failures_total":
            figures[sample.labels["reason"]] = sample.value
    return figures


def test_logins_are_counted_by_outcome_and_reason(client, gateway_client, make_credential):
    make_credential(email="ada@example.com")
    make_credential(email="gone@example.com", is_active=False)
    before = login_figures(client)
    assert set(before) == {"success", "unknown_email", "wrong_password", "inactive", "locked"}

    for email, password in [
        ("ada@example.com", PASSWORD),
        ("ada@example.com", "not the password"),
        ("ada@example.com", "still not it"),
        ("nobody@example.com", PASSWORD),
        ("gone@example.com", PASSWORD),
    ]:
        gateway_client.post("/api/login", {"email": email, "password": password}, format="json")
    # Malformed: refused before any password is checked, not a login failure.
    gateway_client.post("/api/login", {"email": "not an email"}, format="json")

    after = login_figures(client)
    assert {name: after[name] - before[name] for name in after} == {
        "success": 1,
        "wrong_password": 2,
        "unknown_email": 1,
        "inactive": 1,
        "locked": 0,
    }
