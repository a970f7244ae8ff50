"""Who may call what, from the claims of the internal credential (``common.internal_auth``)."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from common.errors import ApiError

# The issuer of the internal credential on calls from the users service.
USERS_SERVICE = "users"


class EndUserRequired(BasePermission):
    """The gateway vouched for a signed-in user (``request.end_user``); else the legacy 401."""

    def has_permission(self, request, view) -> bool:
        if getattr(request, "end_user", None) is None:
            raise ApiError("Access token required", status=401)
        return True


class UsersServiceOnly(BasePermission):
    """The call comes from the users service itself, not through the gateway."""

    def has_permission(self, request, view) -> bool:
        claims = getattr(request, "internal_claims", None) or {}
        return claims.get("iss") == USERS_SERVICE
