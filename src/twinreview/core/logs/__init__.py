"""Signed decision logs: their format, verification, heads and caches."""
