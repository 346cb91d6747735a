"""Where twinreview writes down what went wrong: a rotating log file in the platform's log folder.

The command line and the app call :func:`configure_logging` once at start-up (the composition
roots); modules log through ``logging.getLogger(__name__)``. :func:`log_unexpected` records an
error that should not have happened with its traceback, so that the user sees one plain line
and the details stay in the file (``twinreview --log-file`` prints where it is).

Public API:
    log_path() -> Path: the log file (``TWINREVIEW_LOG_DIR`` overrides the folder).
    configure_logging(level=logging.INFO) -> Path | None: attach the rotating file handler once;
        None when the folder cannot be written (logging then goes nowhere, never fails).
    log_unexpected(exc) -> str: log it with its traceback; returns the one line to show.
    log_failure(logger, what, exc) -> None: log a failure the user is told about in other words:
        an expected one (a refusal, a file or folder problem) as one line, a bug with its
        traceback.
    is_expected(exc) -> bool: True for a refusal (TwinreviewError) or an operating-system error.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from twinreview.core.errors import TwinreviewError, one_line
from twinreview.services import paths

APP_NAME = "twinreview"
LOG_NAME = "twinreview.log"
_HANDLER_NAME = "twinreview-file"


def log_path() -> Path:
    """The log file: ``TWINREVIEW_LOG_DIR`` or the platform's user log folder."""
    return paths.log_dir() / LOG_NAME


def configure_logging(level: int = logging.INFO) -> Path | None:
    """Send twinreview's log records to a rotating file (1 MB x 3); idempotent.

    ``TWINREVIEW_LOG_LEVEL=DEBUG`` (or any level name) overrides ``level``: the debug lines say
    which broken file or cache was skipped, too many to write down by default.
    """
    logger = logging.getLogger(APP_NAME)
    named = logging.getLevelName(os.environ.get("TWINREVIEW_LOG_LEVEL", "").strip().upper())
    logger.setLevel(named if isinstance(named, int) else level)
    path = log_path()
    for h in list(logger.handlers):
        if getattr(h, "name", None) == _HANDLER_NAME:
            if getattr(h, "baseFilename", None) == str(path.absolute()):
                return path
            logger.removeHandler(h)  # the log folder changed (TWINREVIEW_LOG_DIR): follow it
            h.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1 << 20, backupCount=3, encoding="utf-8", delay=True
        )
    except OSError:
        return None
    handler.name = _HANDLER_NAME
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    )
    logger.addHandler(handler)
    return path


def log_unexpected(exc: BaseException) -> str:
    """Log an unexpected error with its traceback; the one line to show the user."""
    logging.getLogger(APP_NAME).error("unexpected error", exc_info=exc)
    return f"unexpected error: {one_line(exc)} (details in {log_path()})"


def is_expected(exc: BaseException) -> bool:
    """A refusal with its own message, or the operating system's (file gone, folder read-only)."""
    return isinstance(exc, TwinreviewError | OSError)


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Log a failure the user is shown in their own words.

    An expected failure (:func:`is_expected`) is one line at INFO; anything else is a bug and is
    logged at ERROR with its traceback, which the user's message never shows.
    """
    if is_expected(exc):
        logger.info("%s: %s", what, one_line(exc))
    else:
        logger.error("%s", what, exc_info=exc)
