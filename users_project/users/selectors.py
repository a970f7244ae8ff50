"""Reads of the users service: the profiles and preferences the API shows."""

from __future__ import annotations

from functools import cache

from django.db import connections, router

from common.sql import model_from_row, quoted_table
from users.models import AccountActivity, AccountActivityEntry, Preferences, Profile


def user_profile_get(*, user_id: int) -> Profile | None:
    """The user's profile if the account is complete and active; ``None`` otherwise (even while pending).

    What ``Profile.objects.visible()`` selects, in SQL made once from the model's names: every forwarded
    profile read runs it (docs/performance.md: the ORM's query building and raw() cost more than the query).
    """
    using = router.db_for_read(Profile)
    with connections[using].cursor() as cursor:
        cursor.execute(_visible_profile_sql(using), [user_id, Profile.Status.ACTIVE])
        row = cursor.fetchone()
    return None if row is None else model_from_row(Profile, using, _PROFILE_FIELDS, row)


_PROFILE_FIELDS = [field.name for field in Profile._meta.concrete_fields]


@cache
def _visible_profile_sql(using: str) -> str:
    table, columns = quoted_table(Profile, using)
    return (
        f"SELECT {', '.join(columns[name] for name in _PROFILE_FIELDS)} FROM {table} "
        f"WHERE {columns['id']} = %s AND {columns['status']} = %s AND {columns['is_active']}"
    )


def user_preferences_get(*, profile: Profile) -> Preferences:
    """The user's preferences; the defaults, unsaved, when they never set any.

    In SQL made once from the model's names, as ``user_profile_get``: every forwarded
    preferences read runs it, and the ORM's query cost a thousand Python calls.
    """
    using = router.db_for_read(Preferences)
    with connections[using].cursor() as cursor:
        cursor.execute(_preferences_sql(using), [profile.pk])
        row = cursor.fetchone()
    return Preferences(profile=profile) if row is None else model_from_row(Preferences, using, _PREFERENCES_FIELDS, row)


# Every concrete field, in the model's order (Model.from_db takes them by position).
_PREFERENCES_FIELDS = [field.name for field in Preferences._meta.concrete_fields]


@cache
def _preferences_sql(using: str) -> str:
    table, columns = quoted_table(Preferences, using)
    return f"SELECT {', '.join(columns[name] for name in _PREFERENCES_FIELDS)} FROM {table} WHERE {columns['profile']} = %s"


def user_profile_with_preferences_get(*, user_id: int) -> tuple[Profile, Preferences] | None:
    """``user_profile_get`` and that profile's ``user_preferences_get``, in one statement; ``None`` as the former.

    Every forwarded preferences read needs both: one round trip to the database
    instead of two, and both read at one moment (the profile's revision is the
    one the preferences were read at).
    """
    using = router.db_for_read(Profile)
    with connections[using].cursor() as cursor:
        cursor.execute(_profile_with_preferences_sql(using), [user_id, Profile.Status.ACTIVE])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_PROFILE_FIELDS)
    profile = model_from_row(Profile, using, _PROFILE_FIELDS, row[:split])
    if row[split] is None:  # no preferences row: never set
        return profile, Preferences(profile=profile)
    return profile, model_from_row(Preferences, using, _PREFERENCES_FIELDS, row[split:])


@cache
def _profile_with_preferences_sql(using: str) -> str:
    profile_table, profile_columns = quoted_table(Profile, using)
    preferences_table, preferences_columns = quoted_table(Preferences, using)
    columns = [f"{profile_table}.{profile_columns[name]}" for name in _PROFILE_FIELDS]
    columns += [f"{preferences_table}.{preferences_columns[name]}" for name in _PREFERENCES_FIELDS]
    profile_id = f"{profile_table}.{profile_columns['id']}"
    return (
        f"SELECT {', '.join(columns)} FROM {profile_table} LEFT JOIN {preferences_table}"
        f" ON {preferences_table}.{preferences_columns['profile']} = {profile_id}"
        f" WHERE {profile_id} = %s AND {profile_table}.{profile_columns['status']} = %s"
        f" AND {profile_table}.{profile_columns['is_active']}"
    )


def user_activity_get(*, user_id: int) -> AccountActivity | None:
    """A user's sign-in summary as the auth service reported it (``None`` before any sign-in event)."""
    return AccountActivity.objects.filter(pk=user_id).first()


def user_activity_recent(*, user_id: int, limit: int = 20) -> list[AccountActivityEntry]:
    """A user's most recent sign-in events (logins, failures, logouts, password changes), newest first."""
    return list(AccountActivityEntry.objects.filter(profile_id=user_id).order_by("-occurred_at", "-pk")[:limit])
