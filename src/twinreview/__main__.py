"""Allow ``python -m twinreview``."""

import multiprocessing

from twinreview.cli.main import main

# The frozen app starts its scan process by running itself again: this makes that run the child.
multiprocessing.freeze_support()
raise SystemExit(main())
