"""Support staff's actions on customer accounts, their audit trail, staff accounts and the Support group.

Each account action calls the service that owns the change, then records a
``StaffAction`` (who, when, what, why) once it took effect:

- profile edits, deactivation, reactivation and deletion are the users
  service's own functions (``users.services``); the events they publish make
  the auth service follow within seconds (logins refused, tokens revoked,
  credentials erased);
- unlocking and ending every session change what only the auth service holds,
  through its internal endpoints (``users.auth_service``).

An action that did not take effect raises ``SupportActionFailed`` with a
message for the staff member, and records nothing.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.db import router, transaction

from common.errors import ApiError
from common.request_context import current_request_id
from common.service_client import ServiceOutcomeUnknown, ServiceUnreachable
from support.models import StaffAction, StaffSignIn
from users.auth_service import credential_call
from users.models import Profile
from users.services import UNSET, user_deactivate, user_delete, user_profile_update, user_reactivate

logger = logging.getLogger(__name__)

REASON_MAX_LENGTH = 500

SUPPORT_GROUP = "Support"
# Exactly what support staff need: find, read and edit customer accounts, take
# the account actions, read the trail. Not: creating accounts (customers
# register), Django's raw delete (it would skip the other services), staff
# accounts and groups (superusers only), changing the trail (no one).
SUPPORT_PERMISSIONS = (
    "users.view_profile",
    "users.change_profile",
    "support.view_staffaction",
    "support.deactivate_account",
    "support.reactivate_account",
    "support.end_account_sessions",
    "support.unlock_account",
    "support.delete_account",
)


class SupportActionFailed(Exception):
    """The action did not take effect (or may not have); ``message`` tells the staff member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ACCOUNT ACTIONS
# ------------------------------------------------------------------------------


def account_profile_update(*, staff, user_id: int, name=UNSET, email=UNSET, reason: str = "") -> Profile:
    """Change a customer's name and/or email as ``PUT /api/profile`` would; the auth service follows."""
    before = Profile.objects.filter(pk=user_id).values("email", "name").first()
    try:
        profile = user_profile_update(user_id=user_id, name=name, email=email)
    except ApiError as exc:
        raise SupportActionFailed(_users_message(exc)) from None
    changed = [field for field in ("email", "name") if before and getattr(profile, field) != before[field]]
    if changed:
        staff_action_record(
            staff=staff,
            user_id=user_id,
            action=StaffAction.Action.PROFILE_UPDATE,
            reason=reason,
            details={"changed": changed},
        )
    return profile


def account_deactivate(*, staff, user_id: int, reason: str) -> Profile:
    """Close the account for now: every token and login refused at once (for good once the auth service applied it)."""
    reason = _required_reason(reason)
    try:
        profile = user_deactivate(user_id=user_id)
    except ApiError as exc:
        raise SupportActionFailed(_users_message(exc)) from None
    staff_action_record(staff=staff, user_id=user_id, action=StaffAction.Action.DEACTIVATE, reason=reason)
    return profile


def account_reactivate(*, staff, user_id: int, reason: str = "") -> Profile:
    """Open a deactivated account again; the user logs in afresh (revoked tokens stay revoked)."""
    try:
        profile = user_reactivate(user_id=user_id)
    except ApiError as exc:
        raise SupportActionFailed(_users_message(exc)) from None
    staff_action_record(staff=staff, user_id=user_id, action=StaffAction.Action.REACTIVATE, reason=reason)
    return profile


def account_delete(*, staff, user_id: int, reason: str) -> None:
    """Erase the account here at once, and at the auth service once it applied ``user.deleted``."""
    reason = _required_reason(reason)
    try:
        user_delete(user_id=user_id)
    except ApiError as exc:
        raise SupportActionFailed(_users_message(exc)) from None
    staff_action_record(staff=staff, user_id=user_id, action=StaffAction.Action.DELETE, reason=reason)


def account_sessions_end(*, staff, user_id: int, reason: str) -> None:
    """Sign the user out everywhere: every token they hold stops working at once; the password stays."""
    reason = _required_reason(reason)
    _credential_action(user_id, "end-sessions")
    staff_action_record(staff=staff, user_id=user_id, action=StaffAction.Action.END_SESSIONS, reason=reason)


def account_unlock(*, staff, user_id: int, reason: str = "") -> None:
    """Lift a lockout after too many wrong passwords: the user may log in again at once."""
    _credential_action(user_id, "unlock")
    staff_action_record(staff=staff, user_id=user_id, action=StaffAction.Action.UNLOCK, reason=reason)


def staff_action_record(*, staff, user_id: int, action: str, reason: str = "", details: dict | None = None):
    """Add an action to the trail, with the request id that ties it to the log lines of the change."""
    entry = StaffAction.objects.create(
        staff=staff,
        user_id=user_id,
        action=action,
        reason=reason.strip()[:REASON_MAX_LENGTH],
        details=details or {},
        request_id=current_request_id() or "",
    )
    logger.info(
        "staff action",
        extra={"staff": staff.get_username(), "user_id": user_id, "action": action, "staff_action_id": entry.pk},
    )
    return entry


def _required_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise SupportActionFailed("Say why in a few words: this action needs a reason.")
    return reason


def _users_message(exc: ApiError) -> str:
    if exc.status == 404:
        return "No registered account has this id (it may have been deleted meanwhile)."
    return exc.message


def _credential_action(user_id: int, action: str) -> None:
    """``POST /internal/credentials/<id>/<action>`` at the auth service, or ``SupportActionFailed``."""
    try:
        answer = credential_call("POST", user_id, action)
    except ServiceUnreachable:
        raise SupportActionFailed("The sign-in service cannot be reached; nothing changed. Try again shortly.") from None
    except ServiceOutcomeUnknown:
        raise SupportActionFailed(
            "The sign-in service did not answer in time; the action may or may not have taken effect. "
            "Trying again is safe."
        ) from None
    if answer.status == 404:
        raise SupportActionFailed("The sign-in service holds no credentials for this account.")
    if answer.status != 200:
        logger.warning("auth refused a support action", extra={"user_id": user_id, "status": answer.status})
        raise SupportActionFailed("The sign-in service could not do it now; nothing changed. Try again shortly.")


# STAFF ACCOUNTS AND THE SUPPORT GROUP
# ------------------------------------------------------------------------------


def staff_account_provision(*, username: str, email: str, password: str | None, superuser: bool = False):
    """Create or update a staff account; ``(user, created)``.

    A support account is staff and in the Support group, nothing more; a
    superuser may do everything. The password, when given, must pass
    ``AUTH_PASSWORD_VALIDATORS`` (``django.core.exceptions.ValidationError``);
    a new account needs one. Running it again with the same values changes nothing.
    """
    user_model = get_user_model()
    group = support_group_sync()
    with transaction.atomic(using=router.db_for_write(user_model)):
        user = user_model.objects.select_for_update().filter(username=username).first()
        created = user is None
        if created:
            if not password:
                raise ValueError("a new staff account needs a password")
            user = user_model(username=username)
        user.email = email or user.email
        user.is_staff = True
        user.is_active = True
        user.is_superuser = superuser
        if password:
            validate_password(password, user=user)
            user.set_password(password)
        user.save()
        if superuser:
            user.groups.remove(group)
        else:
            user.groups.add(group)
    logger.info("staff account provisioned", extra={"staff": username, "new_account": created, "superuser": superuser})
    return user, created


def staff_account_disable(*, username: str) -> None:
    """Offboard a staff member: they cannot sign in any more, and their session ends at its next request.

    The account stays (disabled), so the trail keeps naming who did what.
    """
    user_model = get_user_model()
    if not user_model.objects.filter(username=username).update(is_active=False):
        raise ValueError(f"no staff account named {username!r}")
    logger.info("staff account disabled", extra={"staff": username})


def staff_account_otp_enrol(*, username: str):
    """Give a staff account a new, confirmed TOTP device in place of any it had; the device.

    Its ``config_url`` (the otpauth:// URI with the secret) goes to the staff
    member's authenticator app once; nothing shows it again.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user_model = get_user_model()
    with transaction.atomic(using=router.db_for_write(TOTPDevice)):
        user = user_model.objects.filter(username=username).first()
        if user is None:
            raise ValueError(f"no staff account named {username!r}")
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    logger.info("staff account otp enrolled", extra={"staff": username})
    return device


def staff_account_unlock(*, username: str) -> int:
    """Lift a staff sign-in lockout of ``username`` (axes' failures for it); how many records were cleared."""
    from axes.utils import reset

    cleared = reset(username=username)
    logger.info("staff account unlocked", extra={"staff": username, "cleared": cleared})
    return cleared


def staff_sign_in_record(*, username: str, outcome: str, staff=None, ip_address: str | None, user_agent: str = ""):
    """Add a sign-in attempt to the staff sign-in trail, and log it (never the password)."""
    entry = StaffSignIn.objects.create(
        username=username[:150],
        staff=staff,
        outcome=outcome,
        ip_address=ip_address or None,
        user_agent=user_agent[:255],
        request_id=current_request_id() or "",
    )
    logger.info(
        "staff sign-in",
        extra={"staff": entry.username, "outcome": outcome, "client_ip": ip_address, "staff_sign_in_id": entry.pk},
    )
    return entry


def support_group_sync(*, using: str = "default") -> Group:
    """The Support group, with exactly ``SUPPORT_PERMISSIONS`` (what was added by hand is taken away)."""
    wanted = [name.split(".", 1) for name in SUPPORT_PERMISSIONS]
    query = Permission.objects.db_manager(using).none()
    for app_label, codename in wanted:
        query |= Permission.objects.db_manager(using).filter(content_type__app_label=app_label, codename=codename)
    permissions = list(query)
    if len(permissions) != len(wanted):
        found = {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
        raise LookupError(f"permissions missing (run migrate first): {sorted(set(SUPPORT_PERMISSIONS) - found)}")
    group, _ = Group.objects.db_manager(using).get_or_create(name=SUPPORT_GROUP)
    group.permissions.set(permissions)
    return group


def support_group_sync_after_migrate(sender, *, using: str, **kwargs) -> None:
    """``post_migrate`` of this app: every ``migrate`` of the staff database brings the Support group up to date."""
    if router.allow_migrate_model(using, Group):
        support_group_sync(using=using)
