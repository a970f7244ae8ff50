"""Users' tokens: SimpleJWT's access and refresh tokens, RS256, with the key id in the header.

Claims (both kinds): ``userId`` (the user id, a number as in the legacy tokens),
``ver`` (the credential's token version when issued), ``fam`` (the login
session: the refresh-token family), ``jti``, ``iat``, ``exp``, ``token_type``
("access" / "refresh"). Access tokens also carry ``email``, which the legacy
frontends read.
"""

from __future__ import annotations

import functools
from typing import Any

import jwt
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from common.jwt_keys import key_id

USER_ID_CLAIM = "userId"
VERSION_CLAIM = "ver"
FAMILY_CLAIM = "fam"


class KeyIdTokenBackend(TokenBackend):
    """SimpleJWT's backend, naming the signing key in the header (``kid``).

    A verifier picks the key from ``/api/.well-known/jwks.json`` by it, so the
    key can be rotated with old and new keys published side by side.
    """

    def __init__(self, *args, kid: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kid = kid

    def encode(self, payload: dict[str, Any]) -> str:
        jwt_payload = payload.copy()
        if self.audience is not None:
            jwt_payload["aud"] = self.audience
        if self.issuer is not None:
            jwt_payload["iss"] = self.issuer
        return jwt.encode(
            jwt_payload,
            self.prepared_signing_key,
            algorithm=self.algorithm,
            headers={"kid": self.kid},
            json_encoder=self.json_encoder,
        )


@functools.cache
def token_backend() -> KeyIdTokenBackend:
    """The one backend of this process, configured from ``SIMPLE_JWT``."""
    return KeyIdTokenBackend(
        api_settings.ALGORITHM,
        api_settings.SIGNING_KEY,
        api_settings.VERIFYING_KEY,
        api_settings.AUDIENCE,
        api_settings.ISSUER,
        api_settings.JWK_URL,
        api_settings.LEEWAY,
        api_settings.JSON_ENCODER,
        kid=key_id(api_settings.VERIFYING_KEY),
    )


class SessionAccessToken(AccessToken):
    """An access token signed by :func:`token_backend`."""

    @property
    def token_backend(self) -> TokenBackend:
        return token_backend()


class SessionRefreshToken(RefreshToken):
    """A refresh token signed by :func:`token_backend`."""

    @property
    def token_backend(self) -> TokenBackend:
        return token_backend()
