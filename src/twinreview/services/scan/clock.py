"""What a running scan is doing and how long it has left, in words (no Qt).

The scan reports :class:`~twinreview.services.scan.model.ScanProgress` per phase: ``analyse``
(read, hash, decode, disclosure), ``verify`` (possible copies checked geometrically), ``match``,
``faces`` (the face pass). :class:`ScanClock` turns them into one line for the app's progress bar
and the command line's::

    clock = ScanClock(faces=True)
    clock.update(progress)        # each report
    clock.text()                  # "Checking faces 120 of 220, about 1 min left"

The time left is the current phase's remaining items at the rate measured so far, plus the
phases still to come: the face pass, before it starts, at :data:`FACES_PER_FILE` times the
measured rate of reading a file (its cost on 12 MP portraits, tests/benchmarks/RESULTS.md).
Nothing is shown before a phase has run long enough to measure (:data:`MIN_MEASURE_S`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from twinreview.services.scan.model import ScanProgress

WORDS: dict[str, str] = {
    "starting": "Starting the scan",
    "check": "Checking for changed images",
    "analyse": "Reading images",
    "verify": "Checking possible copies",
    "match": "Comparing with the reference photos",
    "faces": "Checking faces",
}
"""What each phase is doing, in words."""

FACES_PER_FILE = 1.5
"""The face pass's CPU time per file, in multiples of reading one (measured on 12 MP portraits
by bench_scan.py: about 40 ms against 31, a file with no face found costing several times
more)."""

MIN_MEASURE_S = 1.0
"""A phase's rate is trusted after this long and at least two items."""


@dataclass
class _Phase:
    started: float
    first_done: int
    done: int = 0
    total: int = 0
    rate: float | None = None  # seconds per item


@dataclass
class ScanClock:
    """Turns progress reports into a line of text with the time left.

    Args:
        faces: The scan has a face pass (its time is part of the estimate before it starts).
        now: The clock (tests pass their own).
    """

    faces: bool = True
    now: Callable[[], float] = time.monotonic
    _phases: dict[str, _Phase] = field(default_factory=dict)
    _current: str = "starting"
    _files: int = 0

    def update(self, p: ScanProgress) -> None:
        """Take one progress report."""
        t = self.now()
        phase = self._phases.get(p.phase)
        if phase is None:
            phase = self._phases[p.phase] = _Phase(t, p.done)
        phase.done, phase.total = p.done, p.total
        elapsed, items = t - phase.started, p.done - phase.first_done
        if elapsed >= MIN_MEASURE_S and items >= 2:
            phase.rate = elapsed / items
        if p.phase == "analyse":
            self._files = max(self._files, p.total)
        self._current = p.phase

    def seconds_left(self) -> float | None:
        """The estimated time left for the whole scan, or None while it cannot be measured."""
        current = self._phases.get(self._current)
        if current is None or current.rate is None:
            return None
        left = max(0, current.total - current.done) * current.rate
        if self.faces and self._current in ("analyse", "verify", "match"):
            read = self._phases.get("analyse")
            if read is None or read.rate is None:
                return None
            # Files read from the cache count in the rate too: the estimate is of this scan.
            left += self._files * read.rate * FACES_PER_FILE
        return left

    def text(self, *, counts: bool = True) -> str:
        """One line: what the scan is doing, how far (``counts``), and the time it has left."""
        words = WORDS.get(self._current, self._current.capitalize() or "Scanning")
        current = self._phases.get(self._current)
        if counts and current is not None and current.total:
            words += f" {min(current.done, current.total)} of {current.total}"
        left = self.seconds_left()
        return f"{words}, {_duration(left)} left" if left is not None else words


def _duration(seconds: float) -> str:
    """``about 40 s`` / ``about 3 min`` / ``about 1 h 10 min`` / ``a few seconds``."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 60:
        return f"about {round(seconds / 5) * 5} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"
