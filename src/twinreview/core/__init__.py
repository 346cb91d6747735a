"""twinreview.core layer."""
