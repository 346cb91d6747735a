"""twinreview.services layer."""
