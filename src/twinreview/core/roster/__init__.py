"""The signed roster: who may sign what, rooted in the owner's key."""
