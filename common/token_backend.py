"""SimpleJWT's token backend with a set of keys: each token names its key (``kid``), and is verified with that one.

The auth service signs with its one private key and names it in every token's
header. Verifiers (the gateway; the auth service for refresh tokens) may accept
several public keys at once while the signing key is rotated, and pick the one
a token names. Each key has its own algorithm, fixed by its type
(``common.jwt_keys.key_algorithm``: ES256 for an EC P-256 key, RS256 for an RSA
key), so an RSA key and an EC key can be accepted side by side while one
replaces the other.

Everything else is SimpleJWT's own validation: a token is decoded by a plain
SimpleJWT ``TokenBackend`` holding the key it names and that key's algorithm
only, so a header saying anything else (``none``, HS256 keyed with a public
key, RS256 naming an EC key, ES256 naming an RSA key) is refused by PyJWT;
then the signature, ``exp``, and in the token classes the token type and
``jti``. Audience, issuer and leeway come from ``SIMPLE_JWT``.

A token is refused (``TokenBackendError``, "Token is invalid") when its ``kid``
names no accepted key, or when it has none and several keys are accepted:
trying each key in turn would let a token choose the key it is checked with.
"""

from __future__ import annotations

import functools
import json
import warnings
from calendar import timegm
from datetime import datetime
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms
from jwt.warnings import InsecureKeyLengthWarning
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings

from common import jws
from common.jwt_keys import key_algorithm, key_id, public_pem_from_private


def _arguments(algorithm: str, signing_key: str, verifying_key: str) -> tuple:
    """``TokenBackend``'s arguments: these keys, ``SIMPLE_JWT``'s audience, issuer and leeway."""
    return (
        algorithm,
        signing_key,
        verifying_key,
        api_settings.AUDIENCE,
        api_settings.ISSUER,
        None,  # no JWKS client: the keys are configured, never fetched
        api_settings.LEEWAY,
        api_settings.JSON_ENCODER,
    )


class KeySetTokenBackend(TokenBackend):
    """Verifies with the key a token's ``kid`` names, in that key's algorithm; signs (given a private key) naming its own.

    Its own ``algorithm`` is the signing key's (a verifier's: its first key's).
    """

    def __init__(self, *, public_keys: tuple[str, ...], signing_key: str = "") -> None:
        if not public_keys:
            raise ValueError("at least one public key is needed")
        own_public = public_pem_from_private(signing_key) if signing_key else None
        super().__init__(*_arguments(key_algorithm(own_public or public_keys[0]), signing_key, public_keys[0]))
        # One SimpleJWT backend per key, its algorithm the key's; the key prepared once, here.
        self.verifiers = {key_id(pem): TokenBackend(*_arguments(key_algorithm(pem), "", pem)) for pem in public_keys}
        for backend in self.verifiers.values():
            backend.prepared_verifying_key  # noqa: B018 (a cached property: prepared now, not on first use)
        self.kid = key_id(own_public) if own_public else None
        if self.kid is not None and self.kid not in self.verifiers:
            raise ValueError("the signing key's public half must be one of the public keys")
        if self.kid is not None:
            # What PyJWT's jwt.encode works out again for every token, worked out once: the header's segment (its
            # JSON as PyJWT writes it: sorted keys, no spaces), the algorithm and the key it signs with.
            self._header_segment = jws.header_segment({"typ": "JWT", "alg": self.algorithm, "kid": self.kid})
            self._signer = get_default_algorithms()[self.algorithm]
            self._signer_key = self._signer.prepare_key(self.prepared_signing_key)
            self._key_length_warning = self._signer.check_key_length(self._signer_key)
            # json.dumps(..., separators=...) makes an encoder per call; without SIMPLE_JWT's own class, one is kept.
            self._payload_encoder = None if self.json_encoder else json.JSONEncoder(separators=(",", ":"))

    def verifier(self, token: Any) -> TokenBackend:
        """The backend of the key ``token`` names; ``TokenBackendError`` when it names none of them."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise TokenBackendError(_("Token is invalid")) from exc
        if kid is None and len(self.verifiers) == 1:
            return next(iter(self.verifiers.values()))
        if not isinstance(kid, str) or kid not in self.verifiers:
            raise TokenBackendError(_("Token is invalid"))
        return self.verifiers[kid]

    def decode(self, token: Any, verify: bool = True) -> dict[str, Any]:
        """SimpleJWT's ``decode``, by the backend of the key the token names: that key, in that key's algorithm only."""
        return self.verifier(token).decode(token, verify)

    def encode(self, payload: dict[str, Any]) -> str:
        """The compact JWS ``jwt.encode`` makes of ``payload`` (``SIMPLE_JWT``'s audience and issuer added), ``kid`` in
        the header: the same header and payload bytes (RS256 tokens are equal byte for byte), the same signature
        by PyJWT's algorithm, with the header and key prepared once (a test holds it to ``jwt.encode``)."""
        if self.kid is None:
            raise TokenBackendError(_("This backend has no signing key"))
        jwt_payload = payload.copy()
        if self.audience is not None:
            jwt_payload["aud"] = self.audience
        if self.issuer is not None:
            jwt_payload["iss"] = self.issuer
        for claim in ("exp", "iat", "nbf"):  # as jwt.encode does (SimpleJWT's claims are numbers already)
            if isinstance(jwt_payload.get(claim), datetime):
                jwt_payload[claim] = timegm(jwt_payload[claim].utctimetuple())
        if "iss" in jwt_payload and not isinstance(jwt_payload["iss"], str):
            raise TypeError("Issuer (iss) must be a string.")
        if self._payload_encoder is not None:
            body = self._payload_encoder.encode(jwt_payload).encode()
        else:
            body = json.dumps(jwt_payload, separators=(",", ":"), cls=self.json_encoder).encode()
        if self._key_length_warning:  # as jwt.encode warns, on every token
            warnings.warn(self._key_length_warning, InsecureKeyLengthWarning, stacklevel=2)
        return jws.compact(self._header_segment, body, self._sign)

    def _sign(self, signing_input: bytes) -> bytes:
        return self._signer.sign(signing_input, self._signer_key)


@functools.lru_cache(maxsize=8)
def key_set_backend(public_keys: tuple[str, ...], signing_key: str = "") -> KeySetTokenBackend:
    """The backend for these keys, made once (preparing keys is not free).

    Keyed by the keys themselves, so settings changed in tests get a backend of their own.
    """
    return KeySetTokenBackend(public_keys=public_keys, signing_key=signing_key)
