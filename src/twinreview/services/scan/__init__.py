"""Scanning a workspace: analysis, matching, faces, the content-keyed cache."""
