"""Import c2pa-python so that only its own native library can be loaded.

c2pa-python finds ``libc2pa_c`` by trying, in order, the current working directory (and its
``artifacts/`` and ``libs/`` folders), then its own package folder. A reviewer who runs twinreview
from inside a workspace they were sent would load whatever library that workspace planted there
(DESIGN section 7: every file in a workspace may be hostile). So the package is imported here,
once, with the working directory set to a new empty folder, so the search falls through to
c2pa's own package. The package ``twinreview.core.disclosure`` imports this module
before any of its submodules, so their plain ``import c2pa`` finds it already loaded.

The change of directory happens at import time, on the importing thread, before any scan starts;
the previous working directory is always restored.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile

if "c2pa" not in sys.modules:
    if importlib.util.find_spec("c2pa") is None:
        raise ImportError("c2pa-python is not installed")
    _here = os.getcwd()
    # An empty folder of our own: nothing to load from it, and (unlike c2pa's package folder,
    # which holds a module named c2pa.py) nothing that ``import c2pa`` could pick up by mistake
    # when the current folder is on sys.path.
    with tempfile.TemporaryDirectory(prefix="twinreview-c2pa-") as _empty:
        os.chdir(_empty)
        try:
            import c2pa  # noqa: F401
        finally:
            os.chdir(_here)
