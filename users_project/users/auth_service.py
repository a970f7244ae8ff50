"""The auth service as the users project calls it: its internal credential endpoints (docs/accounts.md).

One client for every caller here: registration stores and deletes credentials
(``users.services.registration``); support reads an account's sign-in state and
unlocks or signs it out (``support``), since only the auth service holds those.
"""

from __future__ import annotations

from django.conf import settings

from common.service_client import ServiceClient, ServiceResponse

CREDENTIALS_PATH = "/internal/credentials"


def auth_service() -> ServiceClient:
    """A client of the auth service, as the users service (``audience="auth"``), with the users' timeouts."""
    return ServiceClient(
        settings.AUTH_SERVICE_URL,
        audience="auth",
        connect_timeout=settings.USERS_AUTH_CONNECT_TIMEOUT,
        read_timeout=settings.USERS_AUTH_READ_TIMEOUT,
    )


def credential_call(method: str, user_id: int, action: str) -> ServiceResponse:
    """``method /internal/credentials/<user_id>/<action>``; raises ``common.service_client.ServiceUnavailable``."""
    return auth_service().request(method, f"{CREDENTIALS_PATH}/{user_id}/{action}")
