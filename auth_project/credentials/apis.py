"""The auth service's HTTP API: one view per operation, thin, over ``services`` and ``selectors``.

Public paths (``/api/...``) arrive through the gateway; ``/internal/...`` only
from the users service. ``common.internal_auth.InternalAuthMiddleware`` has
already refused (401) any request without a valid ``X-Internal-Auth``.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from common.api_views import ServiceApiView
from common.serializers import (
    BAD_REQUEST,
    EMAIL_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    SERVICE_UNAVAILABLE,
    ErrorSerializer,
    iso_utc,
)
from credentials import logins, selectors, services, sessions
from credentials.permissions import EndUserRequired, UsersServiceOnly
from credentials.serializers import (
    CredentialCreateInputSerializer,
    CredentialStateOutputSerializer,
    LoginInputSerializer,
    LoginOutputSerializer,
    LogoutInputSerializer,
    MessageOutputSerializer,
    PasswordChangeInputSerializer,
    PasswordChangeOutputSerializer,
    SigningKeySetOutputSerializer,
    TokenPairOutputSerializer,
    TokenRefreshInputSerializer,
)

BEARER = [{"bearerAuth": []}]
TAGS = ["auth"]
def _token_pair(tokens: sessions.TokenPair) -> dict:
    return {"token": tokens.access, "refresh": tokens.refresh}


class CredentialLoginApi(ServiceApiView):
    @extend_schema(
        operation_id="login",
        summary="Log in with email and password",
        description=(
            "Any way of typing the address finds the account (case, Gmail dots and +tags). Unknown email, "
            "wrong password, deactivated or locked account: the same 401."
        ),
        request=LoginInputSerializer,
        responses={200: LoginOutputSerializer, 400: BAD_REQUEST, 401: ErrorSerializer},
        auth=[],
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        result = logins.credential_login(**_login_input(request.data))
        credential = result.credential
        return Response(
            {
                "message": "Login successful",
                **_token_pair(result.tokens),
                # LegacyUserOutputSerializer's fields, written out: every login answers them.
                "user": {
                    "id": int(credential.user_id),
                    "email": str(credential.email),
                    "name": None if credential.name is None else str(credential.name),
                    "created_at": iso_utc(credential.user_created_at),
                },
            }
        )


_SURROGATE = re.compile("[\ud800-\udfff]")


def _login_input(data) -> dict:
    """A login's email and password as ``LoginInputSerializer`` validates them.

    A well-formed body (the common case) is checked in plain code, for the
    CPU of a login; anything else goes through the serializer, so its 400 is
    the serializer's, word for word.
    """
    if type(data) is dict:
        email, password = data.get("email"), data.get("password")
        if (
            type(email) is str
            and type(password) is str
            and email == email.strip()
            and 0 < len(email) <= EMAIL_MAX_LENGTH
            and 0 < len(password) <= PASSWORD_MAX_LENGTH
            and "\x00" not in email
            and "\x00" not in password
            and not _SURROGATE.search(email)
            and not _SURROGATE.search(password)
            and _email_valid(email)
        ):
            return {"email": email, "password": password}
    serializer = LoginInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _email_valid(email: str) -> bool:
    try:
        validate_email(email)
    except DjangoValidationError:
        return False
    return True


class TokenRefreshApi(ServiceApiView):
    @extend_schema(
        operation_id="token_refresh",
        summary="Exchange a refresh token for a new token pair",
        description=(
            "Each refresh token works once. Presenting one that was already used ends its whole session: "
            "every token issued from the same login stops working."
        ),
        request=TokenRefreshInputSerializer,
        responses={
            200: TokenPairOutputSerializer,
            400: BAD_REQUEST,
            401: ErrorSerializer,
            **SERVICE_UNAVAILABLE,
        },
        auth=[],
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = sessions.refresh_token_rotate(refresh=serializer.validated_data["refresh"])
        return Response(_token_pair(tokens))


class SessionLogoutApi(ServiceApiView):
    permission_classes = [EndUserRequired]

    @extend_schema(
        operation_id="logout",
        summary="Log out",
        description=(
            "The access token of the request stops working at once; so does every token of the session "
            "when its refresh token is sent too. A `refresh` that is not a refresh token of the signed-in user "
            "is a 400, and then nothing is revoked."
        ),
        request=LogoutInputSerializer,
        responses={
            200: MessageOutputSerializer,
            400: BAD_REQUEST,
            401: ErrorSerializer,
            **SERVICE_UNAVAILABLE,
        },
        auth=BEARER,
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sessions.session_logout(end_user=request.end_user, refresh=serializer.validated_data.get("refresh"))
        return Response({"message": "Logged out"})


class PasswordChangeApi(ServiceApiView):
    permission_classes = [EndUserRequired]

    @extend_schema(
        operation_id="change_password",
        summary="Change the password",
        description=(
            "Every token issued before stops working; the answer carries a new token pair so this client "
            "stays signed in. A `newPassword` the rules refuse is a 400; then a wrong `currentPassword` is a 401 "
            "`Current password is incorrect`."
        ),
        request=PasswordChangeInputSerializer,
        responses={
            200: PasswordChangeOutputSerializer,
            400: BAD_REQUEST,
            401: ErrorSerializer,
            404: ErrorSerializer,
            **SERVICE_UNAVAILABLE,
        },
        auth=BEARER,
        tags=TAGS,
    )
    def put(self, request: Request) -> Response:
        serializer = PasswordChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = services.credential_change_password(
            user_id=request.end_user.id,
            current_password=serializer.validated_data["currentPassword"],
            new_password=serializer.validated_data["newPassword"],
        )
        return Response({"message": "Password changed successfully", **_token_pair(tokens)})


class SigningKeySetApi(ServiceApiView):
    @extend_schema(
        operation_id="jwks",
        summary="Public keys that verify access tokens (JWK Set)",
        responses={200: SigningKeySetOutputSerializer},
        auth=[],
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.signing_key_set())


class InternalCredentialCreateApi(ServiceApiView):
    """``POST /internal/credentials``: the users service's registration saga, step "credential".

    Caller: the users service only (``X-Internal-Auth`` issued by "users"; any
    other issuer is 403 ``{"error": "Permission denied"}``).

    Request: ``{"user_id": int >= 1, "email": str, "password": str, "name": str | null
    (optional), "created_at": ISO 8601 datetime}``.

    Answers:
    - 201 ``{"token", "refresh"}``: the credential exists (Argon2 hash) and the
      user's first session started. A retry with the same ``user_id``, the same
      email (compared canonically) and a password that verifies answers 201 with
      fresh tokens again.
    - 400 ``{"errors": [...]}`` in the legacy shape: missing or malformed fields,
      or a password Django's validators refuse (``"path": "password"``, no value).
    - 409 ``{"error": "User already exists"}``: another user id has this email.
    - 409 ``{"error": "A different credential already exists for this user id"}``.
    """

    permission_classes = [UsersServiceOnly]

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        serializer = CredentialCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tokens = services.credential_create(
            user_id=data["user_id"],
            email=data["email"],
            password=data["password"],
            name=data["name"],
            user_created_at=data["created_at"],
        )
        return Response(_token_pair(tokens), status=status.HTTP_201_CREATED)


class InternalCredentialDeleteApi(ServiceApiView):
    """``DELETE /internal/credentials/<user_id>``: compensation for a failed registration, and account deletion.

    Caller: the users service only (as above). Deletes the credential and its
    refresh tokens and revokes every token of the user at the gateway
    (minimum token version in Redis). 204 with no body, also when there was no
    credential (safe to retry); 503 ``{"error": "Service unavailable"}`` when
    Redis cannot be reached, and then nothing was deleted.
    """

    permission_classes = [UsersServiceOnly]

    @extend_schema(exclude=True)
    def delete(self, request: Request, user_id: int) -> Response:
        services.credential_delete(user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _credential_state(credential) -> dict:
    return CredentialStateOutputSerializer(credential).data


class InternalCredentialStateApi(ServiceApiView):
    """``GET /internal/credentials/<user_id>/state``: what support staff see of a user's sign-in.

    Caller: the users service only. 200 ``{"user_id", "is_active", "locked",
    "locked_until", "failed_login_count", "password": "current" | "legacy" |
    "unusable", "password_changed_at", "last_login_at"}``, never the hash;
    404 ``{"error": "User not found"}`` without a credential.
    """

    permission_classes = [UsersServiceOnly]

    @extend_schema(exclude=True)
    def get(self, request: Request, user_id: int) -> Response:
        credential = selectors.credential_get(user_id=user_id)
        if credential is None:
            return Response({"error": services.USER_NOT_FOUND}, status=status.HTTP_404_NOT_FOUND)
        return Response(_credential_state(credential))


class InternalCredentialUnlockApi(ServiceApiView):
    """``POST /internal/credentials/<user_id>/unlock``: a locked-out user may log in again at once.

    Caller: the users service only. 200 with the state (as above); 404 without a credential.
    """

    permission_classes = [UsersServiceOnly]

    @extend_schema(exclude=True)
    def post(self, request: Request, user_id: int) -> Response:
        return Response(_credential_state(services.credential_unlock(user_id=user_id)))


class InternalCredentialSessionsEndApi(ServiceApiView):
    """``POST /internal/credentials/<user_id>/end-sessions``: every token the user holds stops working.

    Caller: the users service only. 200 with the state (as above); 404 without
    a credential; 503 ``{"error": "Service unavailable"}`` when Redis cannot be
    reached, and then nothing changed.
    """

    permission_classes = [UsersServiceOnly]

    @extend_schema(exclude=True)
    def post(self, request: Request, user_id: int) -> Response:
        return Response(_credential_state(services.credential_sessions_end(user_id=user_id)))
