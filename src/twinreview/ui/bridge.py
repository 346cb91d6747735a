"""The one place where background work meets the GUI thread.

Workers run plain callables on a ``concurrent.futures`` executor and return bytes, dataclasses or
QImage; never QPixmap or widgets. :class:`Bridge` hands each result to a callback on the GUI thread
through a queued Qt signal, so callbacks may touch widgets. Progress callbacks from workers are
coalesced: however fast a worker reports, the GUI thread sees at most one pending update.

Short jobs (image decodes, decisions, status) go through a small priority queue held on the GUI
thread, with at most ``max_in_flight`` on the executor at once: the image the user is waiting for
never queues behind a hundred thumbnails. Long jobs (a whole scan) bypass the queue.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

T = TypeVar("T")

#: Priorities for :meth:`Bridge.submit`; lower runs first.
URGENT = 0  # what the user is looking at or just asked for
PREFETCH = 10  # next / previous asset
BACKGROUND = 20  # thumbnails


class Task(Generic[T]):
    """A handle on a submitted job. Cancelling drops its callbacks; it never interrupts a worker."""

    def __init__(self) -> None:
        self.cancelled = False
        self.future: Future[T] | None = None

    def cancel(self) -> None:
        """Drop the result; also cancels the job if it has not started yet."""
        self.cancelled = True
        if self.future is not None:
            self.future.cancel()


class _Job:
    __slots__ = ("args", "fn", "on_done", "on_error", "task")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None,
        task: Task[Any],
    ) -> None:
        self.fn = fn
        self.args = args
        self.on_done = on_done
        self.on_error = on_error
        self.task = task


class Bridge(QObject):
    """Runs callables in the background and delivers their results on the GUI thread.

    Args:
        executor: Runs short jobs (decodes, decisions); owned by the composition root.
        long_executor: Runs long blocking calls such as a whole scan.
        max_in_flight: Short jobs on ``executor`` at once; the rest wait by priority.
    """

    # Internal: emitted from worker threads, received (queued) on the GUI thread.
    _delivered = Signal(object, object)
    _progressed = Signal(object)

    #: Emitted with the exception when a job fails and has no ``on_error`` handler.
    job_failed = Signal(object)

    def __init__(
        self,
        executor: Executor,
        long_executor: Executor | None = None,
        *,
        max_in_flight: int = 2,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._executor = executor
        self._long_executor = long_executor or executor
        self._max_in_flight = max(1, max_in_flight)
        self._in_flight = 0
        self._heap: list[tuple[int, int, _Job]] = []
        self._counter = itertools.count()
        self._closed = False
        self._delivered.connect(self._on_delivered, Qt.ConnectionType.QueuedConnection)
        self._progressed.connect(self._on_progressed, Qt.ConnectionType.QueuedConnection)

    # -- short jobs ---------------------------------------------------------------------------

    def submit(
        self,
        fn: Callable[..., T],
        *args: Any,
        on_done: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
        priority: int = URGENT,
    ) -> Task[T]:
        """Queue ``fn(*args)``; ``on_done(result)`` or ``on_error(exc)`` runs on the GUI thread."""
        task: Task[T] = Task()
        heapq.heappush(
            self._heap, (priority, next(self._counter), _Job(fn, args, on_done, on_error, task))
        )
        self._pump()
        return task

    def pending(self) -> int:
        """Short jobs queued or running (for tests and the benchmark)."""
        return len(self._heap) + self._in_flight

    def _pump(self) -> None:
        while not self._closed and self._heap and self._in_flight < self._max_in_flight:
            _, _, job = heapq.heappop(self._heap)
            if job.task.cancelled:
                continue
            self._in_flight += 1
            self._start(job, self._executor, counted=True)

    # -- long jobs ----------------------------------------------------------------------------

    def run_long(
        self,
        fn: Callable[..., T],
        *args: Any,
        on_done: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Task[T]:
        """Run a long blocking call (a scan) outside the short-job queue."""
        task: Task[T] = Task()
        self._start(_Job(fn, args, on_done, on_error, task), self._long_executor, counted=False)
        return task

    def progress_sink(self, on_progress: Callable[[T], None]) -> Callable[[T], None]:
        """Return a thread-safe callable for workers; ``on_progress`` runs on the GUI thread.

        Updates are coalesced: while one is waiting for the GUI thread, newer ones replace it,
        so a fast worker cannot flood the event loop.
        """
        lock = threading.Lock()
        state: dict[str, Any] = {"latest": None, "pending": False}

        def deliver() -> None:
            with lock:
                value = state["latest"]
                state["pending"] = False
            on_progress(value)

        def sink(value: T) -> None:
            with lock:
                state["latest"] = value
                if state["pending"]:
                    return
                state["pending"] = True
            self._emit(self._progressed, deliver)

        return sink

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop delivering: pending jobs are dropped, late results ignored."""
        self._closed = True
        for _, _, job in self._heap:
            job.task.cancel()
        self._heap.clear()

    def _start(self, job: _Job, executor: Executor, *, counted: bool) -> None:
        try:
            future = executor.submit(job.fn, *job.args)
        except RuntimeError as exc:  # executor shut down while the app is closing
            if counted:
                self._in_flight -= 1
            job.task.cancelled = True
            del exc
            return
        job.task.future = future
        future.add_done_callback(lambda f: self._emit(self._delivered, (job, counted), f))

    def _emit(self, signal: Any, *args: Any) -> None:
        # RuntimeError: the bridge was deleted while a worker was finishing; nobody listens.
        with contextlib.suppress(RuntimeError):
            signal.emit(*args)

    def _on_delivered(self, job_info: tuple[_Job, bool], future: Future[Any]) -> None:
        job, counted = job_info
        if counted:
            self._in_flight -= 1
        try:
            if self._closed or job.task.cancelled or future.cancelled():
                return
            exc = future.exception()
            if exc is not None:
                if job.on_error is not None:
                    job.on_error(exc)
                else:
                    self.job_failed.emit(exc)
                return
            job.on_done(future.result())
        finally:
            self._pump()

    def _on_progressed(self, deliver: Callable[[], None]) -> None:
        if not self._closed:
            deliver()
