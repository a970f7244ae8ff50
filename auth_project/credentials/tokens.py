"""Users' tokens: SimpleJWT's access and refresh tokens, signed with the signing key's algorithm
(ES256 for an EC P-256 key, RS256 for an RSA key), with the key id in the header.

Claims (both kinds): ``userId`` (the user id, a number as in the legacy tokens),
``ver`` (the credential's token version when issued), ``fam`` (the login
session: the refresh-token family), ``jti``, ``iat``, ``exp``, ``token_type``
("access" / "refresh"). Access tokens also carry ``email``, which the legacy
frontends read.
"""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from django.conf import settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token
from rest_framework_simplejwt.utils import datetime_to_epoch

from common.token_backend import KeySetTokenBackend, key_set_backend

USER_ID_CLAIM = "userId"
VERSION_CLAIM = "ver"
FAMILY_CLAIM = "fam"


def token_backend() -> KeySetTokenBackend:
    """The backend of this process: signs with ``JWT_PRIVATE_KEY``, verifies with ``JWT_PUBLIC_KEYS`` by ``kid``.

    A refresh token signed with a key being rotated out still verifies while
    its public half is listed (``common.token_backend``).
    """
    return key_set_backend(tuple(settings.JWT_PUBLIC_KEYS), settings.JWT_PRIVATE_KEY)


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


def new_token_claims(kind: type[Token], *, at: datetime, **claims) -> dict:
    """The claims of a new token of ``kind`` issued ``at``, then ``claims``: what ``kind()`` holds once its claims are set.

    SimpleJWT's new token (type, ``exp`` from the kind's lifetime, ``iat``, a random ``jti``) without the object:
    a login signs two of these, and :func:`token_sign` signs them. A test holds the two to the same payload.
    """
    return {
        api_settings.TOKEN_TYPE_CLAIM: kind.token_type,
        "exp": datetime_to_epoch(at + kind.lifetime),
        "iat": datetime_to_epoch(at),
        api_settings.JTI_CLAIM: uuid4().hex,
        **claims,
    }


def token_sign(claims: dict) -> str:
    """``claims`` signed by :func:`token_backend`: what ``str()`` of a token holding them gives."""
    return token_backend().encode(claims)
