"""``manage.py events status|parked|replay``: the event machinery of this service, for operators.

    manage.py events status [--json]      backlog, lag, queued, parked, applied
    manage.py events parked [--json]      the parked messages, with their errors
    manage.py events replay --all         send every parked message to the consumer again
    manage.py events replay --id 3 --id 7

``python manage_all.py events status`` runs it in every project; a project
without a database (the gateway) has no events and says so.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from common.events.parking import parked_replay
from common.events.status import events_status, parked_messages
from common.health import service_database_aliases


class Command(BaseCommand):
    help = "Show the event backlog, lag and parked messages of this service, or replay parked messages."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        status = actions.add_parser("status", help="Backlog, lag, queued and parked counts.")
        status.add_argument("--json", action="store_true", help="One JSON object instead of text.")
        parked = actions.add_parser("parked", help="The parked messages not replayed yet.")
        parked.add_argument("--json", action="store_true", help="A JSON list instead of text.")
        parked.add_argument("--limit", type=int, default=50)
        replay = actions.add_parser("replay", help="Send parked messages to the consumer again.")
        which = replay.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", type=int, action="append", dest="ids", help="A parked message's id (repeatable).")
        which.add_argument("--all", action="store_true", help="Every parked message not replayed yet.")

    def handle(self, *args, action, **options):
        if not service_database_aliases():
            self._say(options, {"service": settings.SERVICE_NAME, "events": None}, "no events (no database)")
            return
        if action == "status":
            status = events_status()
            queued = "unknown (broker unreachable)" if status["queued"] is None else status["queued"]
            text = (
                f"backlog {status['backlog']}, lag {status['lag_seconds']:.1f}s, queued {queued}, "
                f"parked {status['parked']}, applied in the last hour {status['applied_last_hour']}, "
                f"last applied {status['last_applied_at'] or 'never'}"
            )
            self._say(options, status, text)
        elif action == "parked":
            messages = parked_messages(limit=options["limit"])
            if options["json"]:
                self.stdout.write(json.dumps(messages))
                return
            if not messages:
                self.stdout.write(f"{settings.SERVICE_NAME}: no parked messages")
            for message in messages:
                self.stdout.write(
                    f"{settings.SERVICE_NAME} #{message['id']} {message['event_type'] or '?'} {message['event_id']} "
                    f"parked {message['parked_at']} after {message['attempts']} attempts: {message['error']}"
                )
        else:
            try:
                replayed = parked_replay(ids=None if options["all"] else options["ids"])
            except Exception as exc:  # the broker: nothing marked replayed that was not sent
                raise CommandError(f"replay failed: {type(exc).__name__}: {exc}") from exc
            self.stdout.write(f"{settings.SERVICE_NAME}: replayed {replayed} parked message(s)")

    def _say(self, options, data: dict, text: str) -> None:
        if options.get("json"):
            self.stdout.write(json.dumps(data))
        else:
            self.stdout.write(f"{settings.SERVICE_NAME}: {text}")
