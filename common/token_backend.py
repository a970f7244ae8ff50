"""SimpleJWT's token backend with a set of keys: each token names its key (``kid``), and is verified with that one.

The auth service signs with its one private key and names it in every token's
header. Verifiers (the gateway; the auth service for refresh tokens) may accept
several public keys at once while the signing key is rotated, and pick the one
a token names. Everything else is SimpleJWT's own validation (``decode`` and
the token classes): the algorithm is RS256 only (so ``alg: none`` and HS256
keyed with a public key are refused by PyJWT), the signature, ``exp``, then the
token type and ``jti``. Audience, issuer and leeway come from ``SIMPLE_JWT``.

A token is refused (``TokenBackendError``, "Token is invalid") when its ``kid``
names no accepted key, or when it has none and several keys are accepted:
trying each key in turn would let a token choose the key it is checked with.
"""

from __future__ import annotations

import functools
from typing import Any

import jwt
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings

from common.jwt_keys import key_id, public_pem_from_private

# The keys are RSA keys, so this is the one algorithm: a token saying anything
# else (``none``, HS256 keyed with a public key) is refused by PyJWT.
ALGORITHM = "RS256"


class KeySetTokenBackend(TokenBackend):
    """Verifies with the public key a token's ``kid`` names; signs (when given a private key) naming its own."""

    def __init__(self, *, public_keys: tuple[str, ...], signing_key: str = "") -> None:
        if not public_keys:
            raise ValueError("at least one public key is needed")
        super().__init__(
            ALGORITHM,
            signing_key,
            public_keys[0],
            api_settings.AUDIENCE,
            api_settings.ISSUER,
            None,  # no JWKS client: the keys are configured, never fetched
            api_settings.LEEWAY,
            api_settings.JSON_ENCODER,
        )
        self.verifying_keys = {key_id(pem): self._prepare_key(pem) for pem in public_keys}
        self.kid = key_id(public_pem_from_private(signing_key)) if signing_key else None
        if self.kid is not None and self.kid not in self.verifying_keys:
            raise ValueError("the signing key's public half must be one of the public keys")

    def get_verifying_key(self, token: Any) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise TokenBackendError(_("Token is invalid")) from exc
        if kid is None and len(self.verifying_keys) == 1:
            return next(iter(self.verifying_keys.values()))
        if not isinstance(kid, str) or kid not in self.verifying_keys:
            raise TokenBackendError(_("Token is invalid"))
        return self.verifying_keys[kid]

    def encode(self, payload: dict[str, Any]) -> str:
        if self.kid is None:
            raise TokenBackendError(_("This backend has no signing key"))
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


@functools.lru_cache(maxsize=8)
def key_set_backend(public_keys: tuple[str, ...], signing_key: str = "") -> KeySetTokenBackend:
    """The backend for these keys, made once (preparing RSA keys is not free).

    Keyed by the keys themselves, so settings changed in tests get a backend of their own.
    """
    return KeySetTokenBackend(public_keys=public_keys, signing_key=signing_key)
