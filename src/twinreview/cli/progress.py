"""A small progress bar on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from twinreview.services.scan.clock import ScanClock
from twinreview.services.scan.model import ScanProgress


class ProgressBar:
    """Callable progress sink for :meth:`ScanService.scan`.

    A bar, what the scan is doing and about how long it has left (:class:`ScanClock`).
    Redraws at most ten times a second; silent when ``stream`` is not a TTY, so piped and CI
    output stays clean.
    """

    def __init__(self, stream: TextIO | None = None, *, faces: bool = True) -> None:
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty()
        self._last = 0.0
        self._drawn = False
        self._width = 0
        self._clock = ScanClock(faces=faces)

    def __call__(self, p: ScanProgress) -> None:
        """Draw ``p``; throttled, and a no-op when stderr is not a terminal."""
        if not self._enabled:
            return
        self._clock.update(p)
        now = time.monotonic()
        if p.done < p.total and now - self._last < 0.1:
            return
        self._last = now
        width = 20
        frac = p.done / p.total if p.total else 1.0
        bar = "#" * int(frac * width)
        line = f"[{bar:<{width}}] {self._clock.text()}"
        # Padded over the longer line before it.
        self._stream.write(f"\r{line:<{self._width}}")
        self._width = max(self._width, len(line))
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line."""
        if self._enabled and self._drawn:
            self._stream.write("\r" + " " * max(60, self._width) + "\r")
            self._stream.flush()
