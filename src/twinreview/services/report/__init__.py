"""The sign-off report: its content, HTML and files."""
