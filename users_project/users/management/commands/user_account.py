"""``manage.py user_account show|deactivate|reactivate|delete <user_id>``: support staff's account actions.

Each action is the service function the admin calls too (``users.services``);
the auth service follows through the events they publish.

    manage.py user_account show 42          profile and sign-in activity, as JSON
    manage.py user_account deactivate 42    logins refused, every token revoked
    manage.py user_account reactivate 42
    manage.py user_account delete 42        profile here, credentials at auth
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from common.errors import ApiError
from common.serializers import iso_utc
from users.models import Profile
from users.selectors import user_activity_get, user_activity_recent
from users.services import user_deactivate, user_delete, user_reactivate

ACTIONS = {"deactivate": user_deactivate, "reactivate": user_reactivate, "delete": user_delete}


class Command(BaseCommand):
    help = "Show, deactivate, reactivate or delete a user's account."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["show", *ACTIONS])
        parser.add_argument("user_id", type=int)

    def handle(self, *args, action, user_id, **options):
        if action == "show":
            self.stdout.write(json.dumps(self._account(user_id), ensure_ascii=False))
            return
        try:
            ACTIONS[action](user_id=user_id)
        except ApiError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"user {user_id}: {action}d")

    @staticmethod
    def _account(user_id: int) -> dict:
        profile = Profile.objects.filter(pk=user_id).first()
        if profile is None:
            raise CommandError("User not found")
        activity = user_activity_get(user_id=user_id)

        def when(value):
            return iso_utc(value) if value else None

        return {
            "user": {
                "id": profile.pk,
                "email": profile.email,
                "name": profile.name,
                "status": profile.status,
                "is_active": profile.is_active,
                "version": profile.version,
            },
            "activity": {
                "last_login_at": when(activity and activity.last_login_at),
                "last_failed_login_at": when(activity and activity.last_failed_login_at),
                "last_logout_at": when(activity and activity.last_logout_at),
                "password_changed_at": when(activity and activity.password_changed_at),
                "login_count": activity.login_count if activity else 0,
                "failed_login_count": activity.failed_login_count if activity else 0,
                "recent": [
                    {"kind": entry.kind, "reason": entry.reason, "occurred_at": iso_utc(entry.occurred_at)}
                    for entry in user_activity_recent(user_id=user_id)
                ],
            },
        }
