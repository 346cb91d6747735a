"""twinreview.ui layer."""
