"""Allow ``python -m twinreview``."""

from twinreview.cli.main import main

raise SystemExit(main())
