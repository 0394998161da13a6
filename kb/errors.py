"""The one exception the command line turns into an `Error:` line (no traceback)."""


class KBError(Exception):
    """An expected problem with a clear message for the user (no traceback)."""
