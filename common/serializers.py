"""DRF fields both services render the same way, and the shapes both services' API documents describe alike.

The error shapes and the password rules are described once here, so the
gateway's merged document (``gateway.schema``) holds one ``Error``, one
``FieldError`` and one ``BadRequest`` whichever service answers.
"""

from datetime import datetime, timezone

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as JavaScript's ``toISOString()`` writes it."""
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UtcTimestampField(serializers.DateTimeField):
    """A datetime as the monolith answered it (``2019-01-01T00:00:37.000Z``)."""

    def to_representation(self, value):
        return iso_utc(value)


# TEXT LIMITS: every text a client writes is bounded (docs/api.md, "Limits")
# ------------------------------------------------------------------------------

# A person's name; the monolith's longer names import and stay until edited.
NAME_MAX_LENGTH = 200
# RFC 5321's longest address.
EMAIL_MAX_LENGTH = 254
# Ours are about 600 characters; room for a longer key, never megabytes to parse.
REFRESH_TOKEN_MAX_LENGTH = 4096

# PASSWORDS
# ------------------------------------------------------------------------------

# Long enough for any passphrase, short enough that nobody makes the server hash megabytes.
PASSWORD_MAX_LENGTH = 4096
# MinimumLengthValidator's default, as AUTH_PASSWORD_VALIDATORS (common.settings.service) uses it;
# the auth service's schema tests hold the two together.
PASSWORD_MIN_LENGTH = 8

# A password being chosen, as far as JSON Schema can state AUTH_PASSWORD_VALIDATORS:
# the minimum length, and not all digits (NumericPasswordValidator). The other two
# depend on a list and on the account, so they are said in words.
NEW_PASSWORD_SCHEMA = {
    "type": "string",
    "minLength": PASSWORD_MIN_LENGTH,
    "maxLength": PASSWORD_MAX_LENGTH,
    "pattern": r"\D",
    "description": f"At least {PASSWORD_MIN_LENGTH} characters, not all digits, not a commonly used password, "
    "not too like the account's email. Spaces count; it is never trimmed.",
}


# ERRORS (for API documents: common.errors writes them)
# ------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]})
class SubmittedValueField(serializers.JSONField):
    """The value a request field carried, as ``common.errors.legacy_field_error`` echoes it."""


class FieldErrorSerializer(serializers.Serializer):
    type = serializers.CharField(help_text='Always "field".')
    msg = serializers.CharField()
    path = serializers.CharField(help_text="The request field.")
    location = serializers.CharField(help_text='Always "body".')
    value = SubmittedValueField(
        required=False, help_text="The submitted value, when it was a string, an integer or a boolean; "
        "never for password fields."
    )


class ValidationErrorSerializer(serializers.Serializer):
    errors = FieldErrorSerializer(many=True)


# Every 400: the legacy validation list, or a plain error (a malformed body, "User already exists").
BAD_REQUEST = PolymorphicProxySerializer(
    component_name="BadRequest",
    serializers=[ValidationErrorSerializer, ErrorSerializer],
    resource_type_field_name=None,
)

# The 503 an API answers when a service or store it needs did not answer, as a schema's ``responses`` entry.
SERVICE_UNAVAILABLE = {503: ErrorSerializer}
