"""The auth service as support reaches it: its internal endpoints for what only it holds.

Whether an account is locked, what kind of password hash it has, and its
sessions live in the auth service's database, which this service cannot read;
``/internal/credentials/<id>/{state,unlock,end-sessions}`` answer for them
(docs/accounts.md).
"""

from __future__ import annotations

from django.conf import settings

from common.service_client import ServiceClient, ServiceResponse


def credential_call(method: str, user_id: int, action: str) -> ServiceResponse:
    """``method /internal/credentials/<user_id>/<action>``; raises ``common.service_client.ServiceUnavailable``."""
    client = ServiceClient(
        settings.AUTH_SERVICE_URL,
        audience="auth",
        connect_timeout=settings.USERS_AUTH_CONNECT_TIMEOUT,
        read_timeout=settings.USERS_AUTH_READ_TIMEOUT,
    )
    return client.request(method, f"/internal/credentials/{user_id}/{action}")
