"""Writes of the users service: registration, profile and preference updates, account status, activity.

One module per job; this package names what callers use, as ``users.services.<name>``
(the settings' event handlers and the legacy import refer to them so).
"""

from users.services.accounts import user_deactivate, user_delete, user_reactivate
from users.services.activity import ACTIVITY_RECENT_LIMIT, user_activity_record
from users.services.changes import user_revision_establish, user_revisions_advance
from users.services.profiles import (
    EMAIL_IN_USE,
    UNSET,
    user_preferences_update,
    user_profile_update,
    user_profile_update_own,
)
from users.services.registration import Registration, user_register, user_registration_cleanup

__all__ = [
    "ACTIVITY_RECENT_LIMIT",
    "EMAIL_IN_USE",
    "UNSET",
    "Registration",
    "user_activity_record",
    "user_deactivate",
    "user_delete",
    "user_preferences_update",
    "user_profile_update",
    "user_profile_update_own",
    "user_reactivate",
    "user_register",
    "user_registration_cleanup",
    "user_revision_establish",
    "user_revisions_advance",
]
