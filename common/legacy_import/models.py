"""The import's state in a service database: a row per legacy id and a row per run (abstract), and the policy.

Each service's ``legacy_import`` app makes the two concrete models; its ``ready()``
connects ``forget_people_when_deleted`` to the model it imports into.
"""

from __future__ import annotations

from django.db import models
from django.db.models.signals import post_delete

# Each issue a row can have, and what the import does about it (the policy, also in docs/migration.md).
ISSUE_ACTIONS = {
    "invalid_id": "skipped: accounts have ids from 1",
    "empty_email": "skipped",
    "invalid_email": "skipped",
    "duplicate_email": "skipped: another row keeps the address",
    "id_taken": "skipped: the id belongs to an account the import did not create",
    "not_bcrypt": "imported with an unusable password: the user must reset it",
    "created_at_unreadable": "imported with created_at 1970-01-01T00:00:00Z",
    "invalid_text": "imported with unreadable characters replaced by U+FFFD",
    "changed_in_both": "not updated: the service keeps its own version",
    "removed_from_source": "left in the service",
}


class Status(models.TextChoices):
    """Where a legacy row stands in one service."""

    IMPORTED = "imported", "imported as it is in users.db"
    IMPORTED_WITH_ISSUE = "imported_with_issue", "imported, with an issue the report names"
    SKIPPED = "skipped", "not imported (or its change not applied); looked at again on every run"
    CONFLICT = "conflict", "changed in users.db and in the service; looked at again on every run"
    REMOVED = "removed", "imported, then deleted from users.db; left in the service"


# Rows in these states are compared by checksum; any other is looked at again on every run.
SETTLED = frozenset({Status.IMPORTED, Status.IMPORTED_WITH_ISSUE})


# STATE: one row per legacy id, and one per run, in the service database
# ------------------------------------------------------------------------------


class LegacyRowStateBase(models.Model):
    """What the import last did with one row of ``users.db``. Each service has a table of these."""

    id = models.BigIntegerField(primary_key=True, help_text="users.id in the monolith's database.")
    checksum = models.BigIntegerField(
        null=True, help_text="Of the values the import last wrote to the service's row; NULL if it wrote none."
    )
    status = models.CharField(max_length=24, choices=Status.choices)
    issues = models.CharField(max_length=200, blank=True, help_text="Comma-separated issue codes (ISSUE_ACTIONS).")
    detail = models.TextField(blank=True, help_text="One line per issue, in the order of ``issues``.")
    email = models.TextField(blank=True, help_text="The address in users.db, kept for the rows the report lists.")
    imported_at = models.DateTimeField(null=True, help_text="When the import last wrote the service's row.")

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"legacy row {self.id}: {self.status}"

    @classmethod
    def forget_person(cls, legacy_id: int, *, using: str | None = None) -> None:
        """Erase what the row kept of a person (their address, in ``email`` and ``detail``): their account is deleted."""
        cls.objects.using(using).filter(pk=legacy_id).update(email="", detail="")


class ImportRunBase(models.Model):
    """One run of the import: where it read from, how far it got, how it ended."""

    source = models.TextField(help_text="The users.db the run read.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True, help_text="NULL: still running, or interrupted.")
    last_id = models.BigIntegerField(default=0, help_text="Every users.db row up to this id has been processed.")
    outcome = models.CharField(max_length=24, blank=True, help_text="clean, needs_attention or failed.")
    counts = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    deferred_indexes = models.JSONField(
        default=list,
        blank=True,
        help_text="[name, CREATE INDEX statement] of the plain indexes the run dropped to fill an empty table; "
        "built again at its end, or by the next run if it was killed first.",
    )

    class Meta:
        abstract = True
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"import of {self.source} at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.outcome or 'unfinished'}"


STATE_FIELDS = ("id", "checksum", "status", "issues", "detail", "email", "imported_at")



def forget_people_when_deleted(model: type[models.Model], state_model: type[LegacyRowStateBase]) -> None:
    """When a row of ``model`` is deleted, ``state_model`` forgets what it kept of the person (``forget_person``).

    ``model``'s key is the legacy id. The receiver runs in the deletion's own
    transaction, so the state changes if and only if the deletion commits; and
    whatever deletes the row (a service, the admin), the domain app never knows
    the import exists.
    """

    def forget(sender, instance, using, **kwargs) -> None:
        state_model.forget_person(instance.pk, using=using)

    uid = f"legacy-import-forget:{state_model._meta.label}"
    post_delete.connect(forget, sender=model, weak=False, dispatch_uid=uid)
