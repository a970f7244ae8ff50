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
    whatever order events arrive in: one upsert does both (and holds the row
    until the transaction ends), making the row at a user's first event (a
    migrated user's first login, say). An event about a user deleted here
    meanwhile changes nothing. In SQL (``common.sql``), not the ORM: every
    login brings one of these.
    """
    user_id = int(event.payload["user_id"])
    kind = ACTIVITY_KINDS[event.type]
    using = router.db_for_write(AccountActivity)
    if not _activity_summary_count(user_id=user_id, kind=kind, at=event.occurred_at, using=using):
        logger.info("activity of an unknown user ignored", extra={"user_id": user_id, "event_type": event.type})
        return
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


def _activity_summary_count(*, user_id: int, kind: str, at, using: str) -> bool:
    """Count the event in the user's summary and move its time forward, the summary made if it was not there;
    ``False`` when the user has no profile here."""
    latest = ACTIVITY_FIELDS[kind][1]
    at_value, now_value = db_values(AccountActivity, using, {latest: at, "updated_at": timezone.now()})
    with connections[using].cursor() as cursor:
        cursor.execute(_summary_upsert_sql(kind, using), [user_id, at_value, now_value, user_id])
        return cursor.rowcount > 0


@functools.cache
def _summary_upsert_sql(kind: str, using: str) -> str:
    # INSERT … SELECT … WHERE EXISTS (the profile) … ON CONFLICT DO UPDATE (PostgreSQL; SQLite 3.24+, where the
    # WHERE also keeps ON CONFLICT from reading as part of the SELECT): a first event inserts the summary
    # with its count at 1, a later one counts and keeps the later time.
    counter, latest = ACTIVITY_FIELDS[kind]
    table, columns = quoted_table(AccountActivity, using)
    profiles, profile_columns = quoted_table(Profile, using)
    column = columns[latest]
    counters = {name: int(name == counter) for name in ("login_count", "failed_login_count")}
    inserted = ", ".join([columns["profile"], column, columns["updated_at"], *(columns[name] for name in counters)])
    values = ", ".join(["%s", "%s", "%s", *(str(value) for value in counters.values())])
    assignments = (
        f"{column} = CASE WHEN {table}.{column} IS NULL OR {table}.{column} < excluded.{column}"
        f" THEN excluded.{column} ELSE {table}.{column} END, {columns['updated_at']} = excluded.{columns['updated_at']}"
    )
    if counter:
        assignments += f", {columns[counter]} = {table}.{columns[counter]} + 1"
    return (
        f"INSERT INTO {table} ({inserted}) SELECT {values}"
        f" WHERE EXISTS (SELECT 1 FROM {profiles} WHERE {profile_columns[Profile._meta.pk.name]} = %s)"
        f" ON CONFLICT ({columns['profile']}) DO UPDATE SET {assignments}"
    )


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
