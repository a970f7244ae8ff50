"""Reading the revocation store as the gateway does, for the tests of what the auth service writes there."""

import jwt
from django.conf import settings

from common.revocation import is_revoked


def token_revoked(client, token: str) -> bool:
    """Whether the gateway would refuse this access token (``client``: a Redis client on the service's store)."""
    claims = jwt.decode(token, settings.SIMPLE_JWT["VERIFYING_KEY"], algorithms=[settings.SIMPLE_JWT["ALGORITHM"]])
    return is_revoked(
        client,
        user_id=claims["userId"],
        jti=claims["jti"],
        version=claims["ver"],
        family=claims["fam"],
        issued_at=claims["iat"],
    )
