"""What support staff read about a customer account beyond its profile: sign-in state and the staff trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from common.service_client import ServiceUnavailable
from legacy_import.models import LegacyRowState
from support.models import StaffAction
from users.auth_service import credential_call


class SignInStateUnavailable(Exception):
    """The auth service gave no usable answer: the sign-in state is unknown for now."""


@dataclass(frozen=True)
class SignInState:
    """A user's sign-in as the auth service holds it now (never the password hash)."""

    is_active: bool
    locked: bool
    locked_until: datetime | None
    failed_login_count: int
    password: str  # "current", "legacy" (the monolith's bcrypt) or "unusable"
    password_changed_at: datetime | None
    last_login_at: datetime | None


def account_sign_in_state(*, user_id: int) -> SignInState | None:
    """The user's sign-in state, asked of the auth service now; ``None`` when it holds no credential.

    A synchronous call: a lockout expires by the clock and a login clears it,
    so only the auth service can say whether the account is locked right now.
    Raises ``SignInStateUnavailable`` when it cannot answer.
    """
    try:
        answer = credential_call("GET", user_id, "state")
    except ServiceUnavailable as exc:
        raise SignInStateUnavailable(str(exc)) from exc
    if answer.status == 404:
        return None
    if answer.status != 200 or not isinstance(answer.data, dict):
        raise SignInStateUnavailable(f"the auth service answered {answer.status}")
    data = answer.data
    try:
        return SignInState(
            is_active=bool(data["is_active"]),
            locked=bool(data["locked"]),
            locked_until=_timestamp(data["locked_until"]),
            failed_login_count=int(data["failed_login_count"]),
            password=str(data["password"]),
            password_changed_at=_timestamp(data["password_changed_at"]),
            last_login_at=_timestamp(data["last_login_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SignInStateUnavailable(f"the auth service's answer is not a sign-in state: {exc!r}") from exc


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def account_staff_actions(*, user_id: int, limit: int = 50) -> list[StaffAction]:
    """What staff did to the account, newest first, with who did it."""
    return list(StaffAction.objects.filter(user_id=user_id).select_related("staff")[:limit])


def profiles_with_monolith_password(queryset: QuerySet, *, still: bool = True) -> QuerySet:
    """The profiles of ``queryset`` whose password is (``still=False``: is no longer) the monolith's hash.

    Read from this service's own data, so it filters any number of profiles in
    one query: an account imported from users.db (``legacy_import``) keeps the
    monolith's bcrypt hash until its first successful login (the auth service
    rehashes it to Argon2) or a password change, and both reach the activity
    read model as events (``auth.login.success``, ``auth.password.changed``).
    Accounts imported with an unusable password count as "still" too; the
    account page, which asks the auth service, tells them apart.
    """
    imported = LegacyRowState.objects.filter(imported_at__isnull=False).values("id")
    never_replaced = Q(activity__isnull=True) | Q(activity__login_count=0, activity__password_changed_at__isnull=True)
    still_monolith = queryset.filter(never_replaced, pk__in=imported)
    if still:
        return still_monolith
    return queryset.exclude(pk__in=still_monolith.values("pk"))
