"""The sign-in activity support staff read: the auth service's events, applied to each user's summary and entries."""

from __future__ import annotations

import functools
import logging

from django.db import connections, router
from django.utils import timezone

from common.events.envelope import Event
from common.sql import db_values, insert_row, quoted_table
from users.models import AccountActivity, AccountActivityEntry, Profile

logger = logging.getLogger(__name__)

# Sign-in events kept per user in the activity support staff read.
ACTIVITY_RECENT_LIMIT = 50
# The auth service's events, as entries of a user's activity.
ACTIVITY_KINDS = {
    "auth.login.success": AccountActivityEntry.Kind.LOGIN_SUCCEEDED,
    "auth.login.failed": AccountActivityEntry.Kind.LOGIN_FAILED,
    "auth.logout": AccountActivityEntry.Kind.LOGOUT,
    "auth.password.changed": AccountActivityEntry.Kind.PASSWORD_CHANGED,
}
# Per kind of entry: the count it adds one to (if any), and the time it moves forward.
ACTIVITY_FIELDS = {
    AccountActivityEntry.Kind.LOGIN_SUCCEEDED: ("login_count", "last_login_at"),
    AccountActivityEntry.Kind.LOGIN_FAILED: ("failed_login_count", "last_failed_login_at"),
    AccountActivityEntry.Kind.LOGOUT: (None, "last_logout_at"),
    AccountActivityEntry.Kind.PASSWORD_CHANGED: (None, "password_changed_at"),
}


def user_activity_record(*, event: Event) -> None:
    """Apply one of the auth service's sign-in events to the user's activity (``EVENTS_HANDLERS``).

    Runs inside the consumer's transaction, which records the event as applied,
    so each event counts once. Counts add up and timestamps keep the latest,
    whatever order events arrive in: one ``UPDATE`` does both (and holds the row
    until the transaction ends), the row made first for a user's first event.
    An event about a user deleted here meanwhile changes nothing. In SQL
    (``common.sql``), not the ORM: every login brings one of these.
    """
    user_id = int(event.payload["user_id"])
    kind = ACTIVITY_KINDS[event.type]
    using = router.db_for_write(AccountActivity)
    if not _activity_summary_update(user_id=user_id, kind=kind, at=event.occurred_at, using=using):
        if not Profile.objects.filter(pk=user_id).exists():
            logger.info("activity of an unknown user ignored", extra={"user_id": user_id, "event_type": event.type})
            return
        AccountActivity.objects.bulk_create([AccountActivity(profile_id=user_id)], ignore_conflicts=True)
        _activity_summary_update(user_id=user_id, kind=kind, at=event.occurred_at, using=using)
    entry = {
        "profile": user_id,
        "event_id": event.id,
        "kind": kind.value,
        "reason": str(event.payload.get("reason") or "")[:32],
        "occurred_at": event.occurred_at,
        "request_id": event.request_id or "",
    }
    insert_row(AccountActivityEntry, using, entry)
    _activity_entries_prune(user_id=user_id, using=using)


def _activity_summary_update(*, user_id: int, kind: str, at, using: str) -> bool:
    """Count the event in the user's summary and move its time forward; ``False`` without a summary row."""
    latest = ACTIVITY_FIELDS[kind][1]
    at_value, now_value = db_values(AccountActivity, using, {latest: at, "updated_at": timezone.now()})
    with connections[using].cursor() as cursor:
        cursor.execute(_summary_update_sql(kind, using), [at_value, at_value, now_value, user_id])
        return cursor.rowcount > 0


@functools.cache
def _summary_update_sql(kind: str, using: str) -> str:
    counter, latest = ACTIVITY_FIELDS[kind]
    table, columns = quoted_table(AccountActivity, using)
    column = columns[latest]
    assignments = f"{column} = CASE WHEN {column} IS NULL OR {column} < %s THEN %s ELSE {column} END"
    assignments += f", {columns['updated_at']} = %s"
    if counter:
        assignments += f", {columns[counter]} = {columns[counter]} + 1"
    return f"UPDATE {table} SET {assignments} WHERE {columns['profile']} = %s"


def _activity_entries_prune(*, user_id: int, using: str) -> None:
    """Keep the user's ``ACTIVITY_RECENT_LIMIT`` most recent entries (by time, then id); delete the rest."""
    with connections[using].cursor() as cursor:
        cursor.execute(_entries_prune_sql(using), [user_id, user_id, ACTIVITY_RECENT_LIMIT - 1])


@functools.cache
def _entries_prune_sql(using: str) -> str:
    table, columns = quoted_table(AccountActivityEntry, using)
    profile, occurred_at, pk = columns["profile"], columns["occurred_at"], columns["id"]
    return (
        f"DELETE FROM {table} WHERE {profile} = %s AND ({occurred_at}, {pk}) < ("
        f"SELECT {occurred_at}, {pk} FROM {table} WHERE {profile} = %s "
        f"ORDER BY {occurred_at} DESC, {pk} DESC LIMIT 1 OFFSET %s)"
    )
