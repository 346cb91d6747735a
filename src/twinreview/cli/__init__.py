"""twinreview.cli layer."""
