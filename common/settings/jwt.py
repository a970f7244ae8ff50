"""SimpleJWT's settings both sides share (the auth service signs, the gateway verifies): claims and lifetimes.

A project's settings add the keys: ``SIMPLE_JWT = {**SIMPLE_JWT_SHARED, "SIGNING_KEY": ...,
"VERIFYING_KEY": JWT_PUBLIC_KEYS[0]}``, its ``JWT_PUBLIC_KEYS`` from
``common.settings.helpers`` (``signer_public_keys``, ``verifier_public_keys``). SimpleJWT
holds one verifying key, but tokens are verified by ``common.token_backend``, which
takes every accepted key and picks the one a token names.
"""

from datetime import timedelta

from common.env import env

# Claims as the legacy tokens had them (``userId``, ``email``).
SIMPLE_JWT_SHARED = {
    "ALGORITHM": "RS256",
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
