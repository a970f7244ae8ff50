"""SimpleJWT's settings both sides share (the auth service signs, the gateway verifies): claims and lifetimes.

A project's settings add the keys and the algorithm they take: ``SIMPLE_JWT =
simple_jwt(SIMPLE_JWT_SHARED, JWT_PUBLIC_KEYS, JWT_PRIVATE_KEY)``, all from
``common.settings.helpers`` (``signer_public_keys``, ``verifier_public_keys``). The
algorithm follows the key (ES256 for an EC P-256 key, RS256 for an RSA key), so it is
not shared here. SimpleJWT holds one verifying key, but tokens are verified by
``common.token_backend``, which takes every accepted key and picks the one a token names.
"""

from datetime import timedelta

from common.env import env

# Claims as the legacy tokens had them (``userId``, ``email``).
SIMPLE_JWT_SHARED = {
    # The legacy frontend only knows the access token: it must live at least
    # as long as the monolith's (24 h) so nobody is logged out sooner.
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TOKEN_LIFETIME", default=24 * 3600)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_TOKEN_LIFETIME", default=30 * 24 * 3600)),
    "USER_ID_FIELD": "user_id",
    "USER_ID_CLAIM": "userId",
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
    "LEEWAY": 0,
}
