"""The cutover's state: which routes have moved off the monolith, which are frozen, when the last catch-up ran.

One JSON file (``GATEWAY_ROUTES_FILE``, default ``VAR_DIR/cutover/routes.json``)
that the gateway watches and the tools write:

    {"routes": {"/api/profile": "users"},              # prefix -> upstream, over the settings' table
     "frozen": {"/api/register": 1767225600.0},        # prefix -> when writes on it were refused
     "final_catchups": {"users": 1767225610.0, "auth": 1767225610.0}}  # service -> when its --final began

The gateway's ``manage.py routes`` freezes, moves and thaws routes; each
service's ``migrate_from_sqlite --final`` records its final catch-up. The
rules they enforce (``docs/migration.md``, the runbook):

1. ``--final`` runs only while every route that writes ``users.db`` is frozen
   or already on the services, and only once the last freeze has settled
   (``CUTOVER_FREEZE_SETTLE_SECONDS``: the gateway's workers have re-read the
   table and writes already forwarded to the monolith have been answered).
2. A route moves to the services only after both services' final catch-ups
   began after the last freeze: nothing written on the monolith is left behind.
3. A route that hands out tokens (login, registration) moves only once no
   token route is left on the monolith, which could not read the new tokens.
4. A writing route on the services is thawed only once logins are there too:
   a login on the monolith would not see the address or password it changed.

Writers take a lock and replace the file whole (write, then rename), so a
reader sees the old table or the new one, never half of one.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

LEGACY = "legacy"
# The monolith's routes that write users.db: its rows, addresses, names, passwords.
WRITE_ROUTES = ("/api/register", "/api/profile", "/api/change-password")
# The monolith's routes that hand out its tokens.
TOKEN_ISSUING_ROUTES = ("/api/register", "/api/login")
LOGIN_ROUTE = "/api/login"
# The services whose final catch-ups the switch waits for (manage_all.py migrate_from_sqlite --final).
IMPORT_SERVICES = ("users", "auth")


class CutoverRefused(Exception):
    """A step the runbook's order does not allow yet; the message says what must come first."""


def empty_state() -> dict:
    return {"routes": {}, "frozen": {}, "final_catchups": {}}


def read_state(path: Path) -> dict:
    """The state in ``path``; an empty one when the file does not exist. ``ValueError`` when it is not one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty_state()
    state = json.loads(text)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a JSON object")
    merged = {**empty_state(), **state}
    for key in empty_state():
        if not isinstance(merged[key], dict):
            raise ValueError(f"{path}: {key!r} is not a JSON object")
    return merged


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def update_state(path: Path, change: Callable[[dict], None]) -> dict:
    """Apply ``change`` to the state in ``path`` under the lock and write it back whole; the new state."""
    path = Path(path)
    with _locked(path):
        state = read_state(path)
        change(state)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, path)
    return state


def final_catchup_problem(state: dict, *, now: float, settle_seconds: float) -> tuple[str | None, float]:
    """Why a final catch-up may not run now (or ``None``), and how many seconds are left before the freeze settles."""
    open_routes = [
        prefix for prefix in WRITE_ROUTES
        if prefix not in state["frozen"] and state["routes"].get(prefix, LEGACY) == LEGACY
    ]
    if open_routes:
        return (
            f"routes still writing to the monolith: {', '.join(open_routes)}; "
            "freeze them first (gateway: manage.py routes freeze ROUTE)",
            0.0,
        )
    last_freeze = max(state["frozen"].values(), default=0.0)
    return None, max(0.0, last_freeze + settle_seconds - now)


def record_final_catchup(path: Path, service: str, started: float) -> None:
    """Record that ``service``'s final catch-up, begun at ``started``, completed."""
    update_state(path, lambda state: state["final_catchups"].__setitem__(service, started))


def move_problem(state: dict, prefix: str, *, token_routes_on_legacy: list[str]) -> str | None:
    """Why ``prefix`` may not move to the services now (or ``None``)."""
    legacy_writes = [prefix for prefix in WRITE_ROUTES if state["routes"].get(prefix, LEGACY) == LEGACY]
    frozen_at = [state["frozen"][route] for route in legacy_writes if route in state["frozen"]]
    if len(frozen_at) < len(legacy_writes):
        return (
            "routes that write to the monolith are not frozen: "
            + ", ".join(route for route in legacy_writes if route not in state["frozen"])
        )
    catchups = state["final_catchups"]
    behind = [
        service for service in IMPORT_SERVICES
        if catchups.get(service) is None or catchups[service] < max(frozen_at, default=0.0)
    ]
    if behind:
        return (
            f"no final catch-up since the last freeze for {', '.join(behind)}: "
            "run manage_all.py migrate_from_sqlite USERS_DB --final"
        )
    if prefix in TOKEN_ISSUING_ROUTES:
        waiting = [route for route in token_routes_on_legacy if route != prefix]
        if waiting:
            return (
                f"{prefix} hands out tokens the monolith cannot read, and these token routes are still on it: "
                f"{', '.join(waiting)}; move them first"
            )
    return None


def thaw_problem(state: dict, prefix: str, *, on_legacy: bool, login_on_legacy: bool) -> str | None:
    """Why ``prefix`` may not be thawed now (or ``None``)."""
    if prefix not in state["frozen"]:
        return f"{prefix} is not frozen"
    if not on_legacy and prefix in WRITE_ROUTES and login_on_legacy:
        return (
            f"logins are still on the monolith, which would not see what {prefix} writes on the services; "
            f"move {LOGIN_ROUTE} first"
        )
    return None


def now() -> float:
    return time.time()


def with_upstream(route, upstream: str):
    """A route table entry sent to another upstream; whether it needs a token stays as it was.

    Edge reads do not follow: they are what one service offers for its answers.
    """
    if not isinstance(route, dict):
        return upstream
    return {**{key: value for key, value in route.items() if key != "edge"}, "upstream": upstream}
