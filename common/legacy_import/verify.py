"""``--verify``: every row of ``users.db`` compared with the service's table by checksum, nothing written."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from common.legacy_import.models import SETTLED, Status
from common.legacy_import.run import LegacyImport
from common.legacy_import.source import prepared_batches


@dataclass
class VerifyResult:
    legacy_rows: int = 0
    matched: int = 0
    changed_in_service: int = 0
    skipped: int = 0
    mismatches: int = 0
    service_rows: int = 0
    imported_rows: int = 0
    seconds: float = 0.0


def verify(importer: LegacyImport, *, on_mismatch: Callable[[int, str, str], None]) -> VerifyResult:
    """Compare every row of ``users.db`` with the service's table; call ``on_mismatch(id, email, why)`` for each."""
    started = time.monotonic()
    total, _ = importer.source.stats()
    result = VerifyResult(legacy_rows=total)
    updated_at = importer.mapping.updated_at_field
    manager = importer.mapping.model._default_manager.using(importer.using)
    progress = importer.progress(f"{importer.mapping.service}: verifying", total)
    after_id = None

    def mismatch(row_id: int, email: str, why: str) -> None:
        result.mismatches += 1
        on_mismatch(row_id, email, why)

    def missing_from_source(states: dict[int, tuple], present: set[int]) -> None:
        for row_id, state in states.items():
            if row_id not in present and state[1] is not None:
                mismatch(row_id, state[5], "imported, but no longer in users.db")

    for batch in prepared_batches(importer.source, importer.mapping, batch_size=importer.batch_size):
        up_to = batch[-1].id
        states = importer.states(after_id, up_to)
        stored = importer.stored(after_id, up_to, updated_at)
        for values in batch:
            state = states.get(values.id)
            if state is None:
                mismatch(values.id, values.email, "not imported: run the import")
            elif state[2] == Status.SKIPPED:
                result.skipped += 1
            elif state[2] == Status.CONFLICT:
                mismatch(values.id, values.email, "changed in users.db and in the service (see the report)")
            elif state[2] not in SETTLED or state[1] != values.checksum:
                mismatch(values.id, values.email, "changed in users.db since the last import: run it again")
            elif (service_row := stored.get(values.id)) is None:
                mismatch(values.id, values.email, f"missing from the {importer.using} database")
            elif importer.mapping.stored_checksum(service_row[:-1]) == values.checksum:
                result.matched += 1
            elif state[6] is not None and service_row[-1] > state[6]:
                result.changed_in_service += 1
            else:
                mismatch(values.id, values.email, f"differs from users.db in the {importer.using} database")
        missing_from_source(states, {values.id for values in batch})
        after_id = up_to
        progress.advance(len(batch))
    missing_from_source(importer.states(after_id, None), set())
    progress.finish()
    result.service_rows = manager.count()
    states = importer.mapping.state_model.objects.using(importer.using)
    result.imported_rows = states.filter(checksum__isnull=False).count()
    result.seconds = time.monotonic() - started
    return result
