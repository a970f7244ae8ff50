"""``manage.py routes show|freeze|move|thaw``: the cutover's route moves, in the order the runbook allows.

Each writes the routes file (``GATEWAY_ROUTES_FILE``) that every gateway worker
re-reads within a second; nothing restarts. The order is enforced here and by
``migrate_from_sqlite --final`` (``common.cutover``, ``docs/migration.md``).
"""

from __future__ import annotations

import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from common import cutover
from gateway.routing import route_parts, state_problems, table_entries

SERVICES = "services"

ROLLBACK_COST = (
    "what users did on the new system on {prefix} since it moved (registrations, profile changes, new "
    "passwords) is not in the monolith: `migrate_from_sqlite --verify` lists those rows as changed through the "
    "service (docs/migration.md, rolling back)"
)


class Command(BaseCommand):
    help = "Show, freeze, move and thaw the gateway's routes during the cutover (docs/migration.md)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("show", help="Every route: its upstream, frozen or not; the final catch-ups.")
        freeze = actions.add_parser("freeze", help="Answer writes on routes still on the monolith with 503.")
        freeze.add_argument("prefixes", nargs="+", metavar="ROUTE")
        move = actions.add_parser("move", help="Send a route to the services (after a final catch-up) or back.")
        move.add_argument("prefix", metavar="ROUTE")
        move.add_argument("--to", required=True, choices=[SERVICES, cutover.LEGACY])
        thaw = actions.add_parser("thaw", help="Let writes through on frozen routes again.")
        thaw.add_argument("prefixes", nargs="+", metavar="ROUTE")

    def handle(self, *args, action, **options):
        if not settings.GATEWAY_ROUTES_FILE:
            raise CommandError("GATEWAY_ROUTES_FILE is empty: the gateway watches no routes file")
        self.path = Path(settings.GATEWAY_ROUTES_FILE)
        try:
            if action == "show":
                self._show(cutover.read_state(self.path))
            elif action == "freeze":
                self._change(lambda state: self._freeze(state, options["prefixes"]))
            elif action == "move":
                self._change(lambda state: self._move(state, options["prefix"], options["to"]))
            else:
                self._change(lambda state: self._thaw(state, options["prefixes"]))
        except (cutover.CutoverRefused, ValueError) as exc:
            raise CommandError(str(exc)) from exc

    def _change(self, change) -> None:
        def checked(state: dict) -> None:
            change(state)
            problems = state_problems(state)
            if problems:
                raise cutover.CutoverRefused("; ".join(problems))

        state = cutover.update_state(self.path, checked)
        self.stdout.write(f"written to {self.path}: every gateway worker uses it within a second")
        self._show(state)

    def _upstream(self, state: dict, prefix: str) -> str:
        entries = table_entries(state)
        if prefix not in entries:
            raise cutover.CutoverRefused(f"{prefix} is not a route of the table (manage.py routes show)")
        return route_parts(entries[prefix])[0]

    def _token_routes_on_legacy(self, state: dict) -> list[str]:
        return sorted(
            prefix for prefix, entry in table_entries(state).items()
            if route_parts(entry) == (cutover.LEGACY, "token")
        )

    def _freeze(self, state: dict, prefixes: list[str]) -> None:
        for prefix in prefixes:
            if self._upstream(state, prefix) != cutover.LEGACY:
                raise cutover.CutoverRefused(f"{prefix} is not on the monolith: nothing to freeze")
            state["frozen"].setdefault(prefix, cutover.now())

    def _move(self, state: dict, prefix: str, to: str) -> None:
        self._upstream(state, prefix)
        if to == cutover.LEGACY:
            if cutover.LEGACY not in settings.GATEWAY_UPSTREAMS:
                raise cutover.CutoverRefused("LEGACY_UPSTREAM_URL is not set: there is no monolith to go back to")
            issuing = [
                route for route in cutover.TOKEN_ISSUING_ROUTES
                if route != prefix and self._upstream(state, route) != cutover.LEGACY
            ]
            if route_parts(table_entries(state)[prefix])[1] == "token" and issuing:
                raise cutover.CutoverRefused(
                    f"{prefix} needs a token the monolith can read, and {', '.join(issuing)} still hand out the "
                    "new system's: move them back first"
                )
            state["routes"][prefix] = cutover.LEGACY
            self.stderr.write(f"rolled back: {ROLLBACK_COST.format(prefix=prefix)}")
            return
        service_entry = settings.GATEWAY_SERVICE_ROUTES.get(prefix)
        if service_entry is None:
            raise cutover.CutoverRefused(f"{prefix} has no service of its own to move to")
        problem = cutover.move_problem(
            state, prefix, token_routes_on_legacy=self._token_routes_on_legacy(state)
        )
        if problem:
            raise cutover.CutoverRefused(f"{prefix} cannot move yet: {problem}")
        state["routes"][prefix] = route_parts(service_entry)[0]

    def _thaw(self, state: dict, prefixes: list[str]) -> None:
        for prefix in prefixes:
            on_legacy = self._upstream(state, prefix) == cutover.LEGACY
            login_on_legacy = self._upstream(state, cutover.LOGIN_ROUTE) == cutover.LEGACY
            problem = cutover.thaw_problem(state, prefix, on_legacy=on_legacy, login_on_legacy=login_on_legacy)
            if problem:
                raise cutover.CutoverRefused(f"{prefix} cannot be thawed: {problem}")
            del state["frozen"][prefix]

    def _show(self, state: dict) -> None:
        entries = table_entries(state)
        for prefix in sorted(entries):
            upstream, auth = route_parts(entries[prefix])
            frozen = state["frozen"].get(prefix)
            self.stdout.write(
                f"{prefix:<24} {upstream:<8} {auth:<7}" + (f" frozen since {_when(frozen)}" if frozen else "")
            )
        for service in cutover.IMPORT_SERVICES:
            started = state["final_catchups"].get(service)
            self.stdout.write(f"final catch-up ({service}): {_when(started) if started else 'none'}")


def _when(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat(timespec="seconds")
