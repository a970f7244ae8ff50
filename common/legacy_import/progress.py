"""The import's progress: a bar on a terminal, a plain line now and then otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

class Progress:
    """Rows done of a total: a bar with rate and time left on a terminal, a plain line now and then otherwise."""

    BAR_WIDTH = 28
    LINE_EVERY = 5.0  # seconds between plain lines

    def __init__(self, stream: TextIO | None, *, label: str, total: int, terminal: bool):
        self.stream = stream
        self.label = label
        self.total = max(total, 0)
        self.terminal = terminal
        self.done = 0
        self.started = time.monotonic()
        self.shown_at = 0.0
        self.shown_done = -1

    def advance(self, rows: int) -> None:
        self.done += rows
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self.shown_at >= (0.1 if self.terminal else self.LINE_EVERY):
            self.shown_at = now
            self._show(now)

    def finish(self) -> None:
        if self.stream is None:
            return
        if self.shown_done != self.done:
            self._show(time.monotonic())
        if self.terminal:
            self.stream.write("\n")
        self.stream.flush()

    def _show(self, now: float) -> None:
        self.shown_done = self.done
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        total = max(self.total, self.done)
        fraction = self.done / total if total else 1.0
        left = (total - self.done) / rate if rate > 0 else 0.0
        figures = f"{self.done:,}/{total:,} rows, {rate:,.0f} rows/s, {_duration(left)} left"
        if self.terminal:
            filled = int(self.BAR_WIDTH * fraction)
            bar = "#" * filled + "-" * (self.BAR_WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {fraction:4.0%} {figures} ")
        else:
            self.stream.write(f"{self.label}: {fraction:.0%} {figures}\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


ProgressFactory = Callable[[str, int], Progress]
