"""The event models, moved here from the ``common`` app: in Django's state only.

Their tables exist already (``common.0001_initial`` created them, and keeps
creating them on a fresh database); ``db_table`` keeps their names, so no row
moves. ``common.0002`` then removes the models from ``common``'s state.
"""

import django.utils.timezone
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("common", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AggregateVersion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('source', models.CharField(max_length=32)),
                        ('aggregate_id', models.CharField(max_length=64)),
                        ('version', models.PositiveBigIntegerField()),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'common_aggregateversion',
                        'constraints': [models.UniqueConstraint(fields=('source', 'aggregate_id'), name='common_aggregate_version_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='InboxEvent',
                    fields=[
                        ('id', models.UUIDField(help_text="The event's id.", primary_key=True, serialize=False)),
                        ('type', models.CharField(max_length=100)),
                        ('source', models.CharField(help_text='The service that published it.', max_length=32)),
                        ('aggregate_id', models.CharField(max_length=64)),
                        ('version', models.PositiveBigIntegerField()),
                        ('outcome', models.CharField(choices=[('applied', 'Applied'), ('stale', 'stale: a newer version of the aggregate was applied first')], max_length=16)),
                        ('applied_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        'db_table': 'common_inboxevent',
                        'ordering': ['applied_at'],
                        'indexes': [models.Index(fields=['applied_at'], name='common_inbox_applied_at')],
                    },
                ),
                migrations.CreateModel(
                    name='OutboxEvent',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('type', models.CharField(max_length=100)),
                        ('aggregate_id', models.CharField(help_text='The record the event is about, e.g. a user id.', max_length=64)),
                        ('version', models.PositiveBigIntegerField(help_text='Orders the events of one aggregate.')),
                        ('occurred_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('request_id', models.CharField(blank=True, max_length=128)),
                        ('payload', models.JSONField()),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveIntegerField(default=0, help_text='How many times the relay tried to send it.')),
                    ],
                    options={
                        'db_table': 'common_outboxevent',
                        'ordering': ['occurred_at'],
                        'indexes': [models.Index(condition=models.Q(('sent_at__isnull', True)), fields=['occurred_at'], name='common_outbox_unsent'), models.Index(fields=['sent_at'], name='common_outbox_sent_at')],
                    },
                ),
                migrations.CreateModel(
                    name='ParkedMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_id', models.UUIDField(blank=True, help_text='Empty when the message was not a readable event.', null=True)),
                        ('event_type', models.CharField(blank=True, max_length=100)),
                        ('envelope', models.JSONField(help_text='The message as it arrived.')),
                        ('consumer', models.CharField(help_text='The service whose consumer parked it.', max_length=32)),
                        ('error', models.TextField()),
                        ('attempts', models.PositiveIntegerField()),
                        ('parked_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('replayed_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'common_parkedmessage',
                        'ordering': ['parked_at'],
                        'indexes': [models.Index(fields=['replayed_at', 'parked_at'], name='common_parked_pending')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
