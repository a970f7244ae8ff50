"""The auth service's own metrics, beside the request metrics every project has (``common.metrics``)."""

from __future__ import annotations

from prometheus_client import Counter

# Why a login was refused; every one of them is the same 401 to the client.
FAILURE_REASONS = ("unknown_email", "wrong_password", "inactive", "locked")

LOGIN_SUCCESSES = Counter("auth_login_successes_total", "Logins that started a session.")
LOGIN_FAILURES = Counter(
    "auth_login_failures_total",
    "Logins refused after checking the email and password, by reason "
    "(unknown_email, wrong_password, inactive, locked); malformed requests are not counted.",
    ["reason"],
)
# Every reason is scraped from the start, at 0.
for _reason in FAILURE_REASONS:
    LOGIN_FAILURES.labels(_reason)
