"""twinreview: offline review and signed approval of AI-generated images of real people."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("twinreview")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
