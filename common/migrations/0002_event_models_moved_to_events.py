"""The event models moved to the ``events`` app (``common.events``): removed from ``common``'s state only.

Their tables stay as they are, with their rows: the ``events`` app's models use
the same table names (``events.0001_initial``).
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("common", "0001_initial"),
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AggregateVersion"),
                migrations.DeleteModel(name="InboxEvent"),
                migrations.DeleteModel(name="OutboxEvent"),
                migrations.DeleteModel(name="ParkedMessage"),
            ],
            database_operations=[],
        ),
    ]
