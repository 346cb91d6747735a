"""Publishing cleared assets, and checking a published file."""
