"""twinreview: offline review and signed approval of AI-generated images of real people."""

import logging
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("twinreview")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

# Log records go to the file the front ends configure (services.diagnostics), never to stderr
# through logging's last-resort handler: the command line promises one line per error.
logging.getLogger("twinreview").addHandler(logging.NullHandler())
