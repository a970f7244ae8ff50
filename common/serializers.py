"""DRF fields both services render the same way."""

from datetime import datetime, timezone

from rest_framework import serializers


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as JavaScript's ``toISOString()`` writes it."""
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UtcTimestampField(serializers.DateTimeField):
    """A datetime as the monolith answered it (``2019-01-01T00:00:37.000Z``)."""

    def to_representation(self, value):
        return iso_utc(value)
