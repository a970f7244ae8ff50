"""The users service's public API, as the gateway forwards it: register, profile, preferences.

Shapes are the legacy monolith's (the public API contract, ``docs/api.md``). The end user
is the one the gateway vouched for in ``X-Internal-Auth``
(``common.internal_auth.InternalAuthMiddleware`` sets ``request.end_user``).
``/api/profile`` and ``/api/profile/preferences`` each serve two operations on
one URL, so each is one view with one method per operation, each method with
its own input and output serializers.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers

from common.serializers import (
    BAD_REQUEST,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NEW_PASSWORD_SCHEMA,
    PASSWORD_MAX_LENGTH,
    SERVICE_UNAVAILABLE,
    ErrorSerializer,
    UtcTimestampField,
    iso_utc,
)
from rest_framework.response import Response

from common import edge
from common.api_views import ServiceApiView
from common.errors import ApiError
from users.models import LANGUAGE_TAG_MAX_LENGTH, Preferences, language_tag_validator
from users.selectors import user_profile_get, user_profile_with_preferences_get
from users.services import user_preferences_update, user_profile_update_own, user_register, user_revision_establish

BEARER = [{"bearerAuth": []}]


def _keepable(request, response: Response, profile) -> Response:
    """Mark a user's own GET answer as one the gateway may keep, under the revision its data was read at.

    The profile (and its revision) must have been read before the rest of the
    answer's data: a change committed in between then makes the copy look older
    than it is, never newer. When the gateway found no current revision (or an
    older one), it is established here first (``common.edge``).
    """
    if edge.revision_needs_raise(request.headers.get(edge.KNOWN_REVISION_HEADER), profile.revision):
        user_revision_establish(user_id=profile.pk)
    response[edge.REVISION_HEADER] = str(profile.revision)
    response["Cache-Control"] = "private, no-cache"
    return response


def _end_user_id(request) -> int:
    """The id of the user the gateway authenticated; 401 as the monolith answered without a token."""
    end_user = getattr(request, "end_user", None)
    if end_user is None:
        raise ApiError("Access token required", status=401)
    return end_user.id


# Fields: JSON types as they come, no silent coercion (a number is not a name)


class _StrictStringMixin:
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(_StrictStringMixin, serializers.CharField):
    """Text that must arrive as a JSON string."""


class StrictEmailField(_StrictStringMixin, serializers.EmailField):
    """An email address that must arrive as a JSON string; refused with the monolith's message."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", EMAIL_MAX_LENGTH)
        kwargs.setdefault("error_messages", {"invalid": "Invalid value"})
        super().__init__(**kwargs)


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false``, not ``"yes"`` or ``1``."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


@extend_schema_field(NEW_PASSWORD_SCHEMA)
class StrictNewPasswordField(StrictCharField):
    """A password being chosen: never trimmed (spaces are part of it), bounded since hashing cost grows with length.

    Documented with the rules AUTH_PASSWORD_VALIDATORS applies to it.
    """

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, max_length=PASSWORD_MAX_LENGTH, **kwargs)


def _name_field(**kwargs) -> StrictCharField:
    # Kept exactly as given: padded, unicode or null, like the monolith's rows; at most NAME_MAX_LENGTH long.
    kwargs.setdefault("max_length", NAME_MAX_LENGTH)
    return StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        error_messages={"max_length": "Invalid value"},
        **kwargs,
    )


# Shapes shared by several operations


class UserOutputSerializer(serializers.Serializer):
    """A user as the API shows one; ``user_output`` writes the same for the profile's own reads and writes."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField(allow_null=True)
    created_at = UtcTimestampField()


def user_output(profile) -> dict:
    """``UserOutputSerializer(profile).data``, written out (same keys, order and values).

    Every forwarded ``GET /api/profile`` and ``PUT /api/profile`` renders one: a
    serializer instance deep-copies its declared fields and converts each in
    turn, ~390 Python calls for four values, a fifth of such a request's work.
    The serializer stays the schema's description; a test holds the two equal.
    """
    name = profile.name
    return {
        "id": int(profile.id),
        "email": str(profile.email),
        "name": None if name is None else str(name),
        "created_at": iso_utc(profile.created_at),
    }


# POST /api/register


class UserRegisterInputSerializer(serializers.Serializer):
    email = StrictEmailField()
    password = StrictNewPasswordField(style={"input_type": "password"})
    name = _name_field()


class UserRegisterOutputSerializer(serializers.Serializer):
    message = serializers.CharField()
    token = serializers.CharField()
    refresh = serializers.CharField()
    user = UserOutputSerializer()


class UserRegisterApi(ServiceApiView):
    @extend_schema(
        operation_id="user_register",
        summary="Create an account",
        description="Validates the password with the same rules as the auth service, stores the profile here "
        "and the credentials in the auth service, and answers with tokens. An address that already has an "
        "account, however it is typed (case, Gmail dots and +tags), is a 400 `User already exists`.",
        request=UserRegisterInputSerializer,
        responses={201: UserRegisterOutputSerializer, 400: BAD_REQUEST, **SERVICE_UNAVAILABLE},
        auth=[],
    )
    def post(self, request):
        serializer = UserRegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = user_register(**serializer.validated_data)
        output = UserRegisterOutputSerializer(
            {
                "message": "User registered successfully",
                "token": registration.token,
                "refresh": registration.refresh,
                "user": registration.profile,
            }
        )
        return Response(output.data, status=201)


# GET and PUT /api/profile


class UserProfileDetailOutputSerializer(serializers.Serializer):
    user = UserOutputSerializer()


class UserProfileUpdateInputSerializer(serializers.Serializer):
    """A name over ``NAME_MAX_LENGTH`` is refused unless it is the one the profile has (the monolith's long names
    stay as they are until edited); ``context["current_name"]`` is it."""

    name = _name_field(max_length=None)
    email = StrictEmailField(required=False)

    def validate_name(self, name):
        if name is not None and len(name) > NAME_MAX_LENGTH and name != self.context.get("current_name"):
            raise serializers.ValidationError("Invalid value")
        return name


class UserProfileUpdateOutputSerializer(serializers.Serializer):
    message = serializers.CharField()
    user = UserOutputSerializer()


class UserProfileApi(ServiceApiView):
    @extend_schema(
        operation_id="user_profile_detail",
        summary="The signed-in user's profile",
        responses={200: UserProfileDetailOutputSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
        auth=BEARER,
    )
    def get(self, request):
        profile = user_profile_get(user_id=_end_user_id(request))
        if profile is None:
            raise ApiError("User not found", status=404)
        return _keepable(request, Response({"user": user_output(profile)}), profile)

    @extend_schema(
        operation_id="user_profile_update",
        summary="Change the signed-in user's name and/or email",
        description=(
            "An address another account has, however it is typed, is a 400 `Email already in use`; after"
            " `USERS_EMAIL_IN_USE_LIMIT` (5) of those within the hour, every change of email is a 429 until it ends."
        ),
        request=UserProfileUpdateInputSerializer,
        responses={
            200: UserProfileUpdateOutputSerializer,
            400: BAD_REQUEST,
            401: ErrorSerializer,
            404: ErrorSerializer,
            429: ErrorSerializer,
        },
        auth=BEARER,
    )
    def put(self, request):
        user_id = _end_user_id(request)
        context = {}
        if isinstance(request.data, dict) and isinstance(request.data.get("name"), str):
            if len(request.data["name"]) > NAME_MAX_LENGTH:
                current = user_profile_get(user_id=user_id)
                context["current_name"] = current.name if current else None
        serializer = UserProfileUpdateInputSerializer(data=request.data, context=context)
        serializer.is_valid(raise_exception=True)
        profile = user_profile_update_own(user_id=user_id, **serializer.validated_data)
        return Response({"message": "Profile updated successfully", "user": user_output(profile)})


# GET and PUT /api/profile/preferences


class PreferencesSerializer(serializers.ModelSerializer):
    class Meta:
        model = Preferences
        fields = ["theme", "language", "notifications_enabled"]


class UserPreferencesOutputSerializer(serializers.Serializer):
    preferences = PreferencesSerializer()


# PreferencesSerializer's fields' conversions, made once (to_representation needs no bound field).
_THEME = serializers.ChoiceField(choices=Preferences.Theme.choices)
_BOOLEAN = serializers.BooleanField()


def preferences_output(preferences: Preferences) -> dict:
    """``PreferencesSerializer(preferences).data``, written out (same keys, order and values).

    Every forwarded preferences read and write renders one: a ModelSerializer
    builds its fields from the model for each instance (~580 Python calls for
    three values). The serializer stays the schema's description; a test holds the two equal.
    """
    theme, language, enabled = preferences.theme, preferences.language, preferences.notifications_enabled
    return {
        "theme": None if theme is None else _THEME.to_representation(theme),
        "language": None if language is None else str(language),
        "notifications_enabled": None if enabled is None else _BOOLEAN.to_representation(enabled),
    }


class UserPreferencesUpdateInputSerializer(serializers.Serializer):
    theme = serializers.ChoiceField(choices=Preferences.Theme.choices, required=False)
    language = StrictCharField(
        required=False,
        max_length=LANGUAGE_TAG_MAX_LENGTH,
        validators=[language_tag_validator],
        help_text="A language tag such as en or pt-BR.",
    )
    notifications_enabled = StrictBooleanField(required=False)


class UserPreferencesApi(ServiceApiView):
    @extend_schema(
        operation_id="user_preferences_detail",
        summary="The signed-in user's preferences (defaults when never set)",
        responses={200: UserPreferencesOutputSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
        auth=BEARER,
    )
    def get(self, request):
        found = user_profile_with_preferences_get(user_id=_end_user_id(request))
        if found is None:
            raise ApiError("User not found", status=404)
        profile, preferences = found
        return _keepable(request, Response({"preferences": preferences_output(preferences)}), profile)

    @extend_schema(
        operation_id="user_preferences_update",
        summary="Change some of the signed-in user's preferences",
        request=UserPreferencesUpdateInputSerializer,
        responses={
            200: UserPreferencesOutputSerializer,
            400: BAD_REQUEST,
            401: ErrorSerializer,
            404: ErrorSerializer,
        },
        auth=BEARER,
    )
    def put(self, request):
        profile = self._profile(request)
        serializer = UserPreferencesUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preferences = user_preferences_update(profile=profile, **serializer.validated_data)
        return Response({"preferences": preferences_output(preferences)})

    @staticmethod
    def _profile(request):
        profile = user_profile_get(user_id=_end_user_id(request))
        if profile is None:
            raise ApiError("User not found", status=404)
        return profile
