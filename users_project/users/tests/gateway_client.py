"""Requests as the gateway sends them to the users service: its signed ``X-Internal-Auth``, for an end user or none."""

import time

from django.test import Client

from common.internal_auth import sign_internal
from common.testing import InternalAuthClientMixin


def gateway_signer(user_id: int | None = None, email: str = ""):
    """``signer(method, path)``: ``X-Internal-Auth`` as the gateway signs it, for an end user or anonymous."""
    if user_id is None:
        return lambda method, path: sign_internal("users", issuer="gateway", method=method, path=path)
    return lambda method, path: sign_internal(
        "users",
        issuer="gateway",
        method=method,
        path=path,
        user_id=user_id,
        email=email,
        jti="j",
        token_exp=int(time.time()) + 3600,
    )


class GatewayClient(InternalAuthClientMixin, Client):
    """A test client whose requests come through the gateway."""
