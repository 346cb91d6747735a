"""Likeness: face embeddings compared, and what the comparison means."""
