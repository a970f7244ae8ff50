"""What every change to a user goes through: its event on the outbox, and its revision for the gateway's copies.

A change publishes its event (``user_event_publish``) and advances the user's
revision (``user_revisions_advance``) in its own transaction, so the auth
service follows and no copy of an earlier answer is served once it commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import connections, router, transaction

from common import edge
from common.errors import ApiError
from common.events.outbox import event_publish
from common.sql import quoted_table, select_by_key_for_update
from users.models import Profile

logger = logging.getLogger(__name__)

# Profiles whose revisions one statement advances (the legacy import advances thousands).
REVISION_BATCH_SIZE = 500


def _user_state(profile: Profile) -> dict:
    """What every event about a user carries: the user as the users service knows them now."""
    return {"user_id": profile.pk, "email": profile.email, "name": profile.name, "is_active": profile.is_active}


def user_event_publish(profile: Profile, event_type: str, **extra) -> None:
    """Write ``event_type`` about ``profile`` at its (already bumped) version, in the caller's transaction."""
    payload = {"user_id": profile.pk} if event_type == "user.deleted" else {**_user_state(profile), **extra}
    event_publish(type=event_type, aggregate_id=profile.pk, version=profile.version, payload=payload)


# What the gateway may serve from a copy: every change to a user's own GETs goes through here


def user_revisions_advance(*, user_ids: Iterable[int]) -> dict[int, int]:
    """Record a change to what these users' own GETs show (profile, preferences), in the caller's transaction.

    Advances each profile's revision, locking its row, and raises the user's
    current revision in Redis to it before the transaction commits, so that no
    copy of an earlier answer is current any more (``common.edge``). Raises
    ``ApiError("Service unavailable", 503)`` when Redis does not take it: the
    caller's transaction rolls back and nothing changed. Returns the new
    revisions by user id; ids without a profile are left out.
    """
    using = router.db_for_write(Profile)
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("user_revisions_advance must run inside the transaction of the change")
    table, columns = quoted_table(Profile, using)
    key, revision = columns["id"], columns["revision"]
    ids = sorted(set(user_ids))  # one lock order for every caller
    floor = edge.next_revision()
    revisions: dict[int, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), REVISION_BATCH_SIZE):
            chunk = ids[start : start + REVISION_BATCH_SIZE]
            cursor.execute(
                f"UPDATE {table} SET {revision} = CASE WHEN {revision} + 1 > %s THEN {revision} + 1 ELSE %s END "
                f"WHERE {key} IN ({', '.join(['%s'] * len(chunk))}) RETURNING {key}, {revision}",
                [floor, floor, *chunk],
            )
            revisions.update(cursor.fetchall())
    try:
        edge.revisions_raise(settings.REDIS_URL, settings.SERVICE_NAME, revisions, settings.USERS_EDGE_REVISION_TTL)
    except edge.EdgeUnavailable as exc:
        logger.error("edge revisions not raised: change refused", extra={"users": len(revisions), "error": str(exc)})
        raise ApiError("Service unavailable", status=503) from exc
    return revisions


def user_revision_establish(*, user_id: int) -> None:
    """Raise the user's current revision in Redis to the committed one, when the gateway found it missing or behind.

    Under the profile's lock, so no change is on its way to a commit meanwhile:
    the revision read is the latest, and a later change raises it again after
    this. Redis down: nothing is raised (the gateway keeps forwarding).
    """
    using = router.db_for_write(Profile)
    with transaction.atomic(using=using):
        current = select_by_key_for_update(Profile, using, user_id, ["revision"])
        if current is None:
            return
        try:
            edge.revisions_raise(
                settings.REDIS_URL, settings.SERVICE_NAME, {user_id: current[0]}, settings.USERS_EDGE_REVISION_TTL
            )
        except edge.EdgeUnavailable as exc:
            logger.warning("edge revision not established", extra={"user_id": user_id, "error": str(exc)})
