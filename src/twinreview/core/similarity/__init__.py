"""Derived copies: perceptual hashes, candidate joins, geometric verification."""
