"""Input and output shapes of the auth service's API, one small serializer per purpose.

Names are unique module-wide because drf-spectacular names schema components after them.
The error shapes are common.serializers' (both services answer them alike).
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializers import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NEW_PASSWORD_SCHEMA,
    PASSWORD_MAX_LENGTH,
    REFRESH_TOKEN_MAX_LENGTH,
    UtcTimestampField,
)
from credentials.selectors import credential_password_kind

# express-validator answered every failed check with this message; the legacy frontends know it.
LEGACY_MESSAGES = {key: "Invalid value" for key in ("required", "null", "blank", "invalid", "max_length")}


def password_field(**kwargs) -> serializers.CharField:
    """A password as typed: never trimmed (spaces count), never echoed back.

    ``min_length=1`` refuses nothing ``allow_blank=False`` lets through; it puts
    ``minLength: 1`` in the API document.
    """
    return serializers.CharField(trim_whitespace=False, min_length=1, max_length=PASSWORD_MAX_LENGTH, **kwargs)


@extend_schema_field(NEW_PASSWORD_SCHEMA)
class NewPasswordField(serializers.CharField):
    """A password being chosen: documented with the rules AUTH_PASSWORD_VALIDATORS applies to it."""

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, max_length=PASSWORD_MAX_LENGTH, **kwargs)


@extend_schema_field({"type": "string", "pattern": r"\S"})
class RefreshTokenField(serializers.CharField):
    """A refresh token; blank (or only spaces, which are trimmed) is refused like a missing one."""

    def __init__(self, **kwargs):
        super().__init__(max_length=REFRESH_TOKEN_MAX_LENGTH, **kwargs)


# PUBLIC
# ------------------------------------------------------------------------------


class LegacyUserOutputSerializer(serializers.Serializer):
    """The legacy ``user`` object."""

    id = serializers.IntegerField(source="user_id")
    email = serializers.EmailField()
    name = serializers.CharField(allow_null=True)
    created_at = UtcTimestampField(source="user_created_at")


class LoginInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, error_messages=LEGACY_MESSAGES)
    password = password_field(error_messages=LEGACY_MESSAGES)


class LoginOutputSerializer(serializers.Serializer):
    message = serializers.CharField(help_text='Always "Login successful".')
    token = serializers.CharField(help_text="Access token (JWT, ES256 or RS256 by the signing key; kid in the header).")
    refresh = serializers.CharField(help_text="Refresh token, for POST /api/token/refresh.")
    user = LegacyUserOutputSerializer()


class TokenRefreshInputSerializer(serializers.Serializer):
    refresh = RefreshTokenField(error_messages=LEGACY_MESSAGES)


class TokenPairOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Access token (JWT, ES256 or RS256 by the signing key; kid in the header).")
    refresh = serializers.CharField(help_text="Refresh token, for POST /api/token/refresh.")


class LogoutInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=REFRESH_TOKEN_MAX_LENGTH,
        error_messages=LEGACY_MESSAGES,
        help_text="The session's refresh token: its whole session ends too.",
    )


class MessageOutputSerializer(serializers.Serializer):
    message = serializers.CharField()


class PasswordChangeInputSerializer(serializers.Serializer):
    currentPassword = password_field(error_messages=LEGACY_MESSAGES)  # noqa: N815 - the legacy field name
    newPassword = NewPasswordField(error_messages=LEGACY_MESSAGES)  # noqa: N815 - the legacy field name


class PasswordChangeOutputSerializer(serializers.Serializer):
    message = serializers.CharField(help_text='Always "Password changed successfully".')
    token = serializers.CharField(help_text="Access token of a new session; every earlier token is revoked.")
    refresh = serializers.CharField()


class SigningKeySetOutputSerializer(serializers.Serializer):
    keys = serializers.ListField(child=serializers.DictField(), help_text="Public keys as JWKs (RFC 7517): EC P-256 (ES256) or RSA (RS256).")


# INTERNAL (the users service)
# ------------------------------------------------------------------------------


class CredentialCreateInputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1)
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    password = password_field()
    name = serializers.CharField(
        allow_null=True, allow_blank=True, trim_whitespace=False, max_length=NAME_MAX_LENGTH, default=None
    )
    created_at = serializers.DateTimeField()


class CredentialStateOutputSerializer(serializers.Serializer):
    """A user's sign-in state for support staff: whether and how they can log in, never the password hash."""

    user_id = serializers.IntegerField()
    is_active = serializers.BooleanField()
    locked = serializers.SerializerMethodField()
    locked_until = UtcTimestampField(allow_null=True)
    failed_login_count = serializers.IntegerField(help_text="Consecutive wrong passwords since the last success.")
    password = serializers.SerializerMethodField(help_text='"current", "legacy" (monolith bcrypt) or "unusable".')
    password_changed_at = UtcTimestampField(allow_null=True)
    last_login_at = UtcTimestampField(allow_null=True)

    def get_locked(self, credential) -> bool:
        return credential.is_locked(at=timezone.now())

    def get_password(self, credential) -> str:
        return credential_password_kind(credential=credential)
