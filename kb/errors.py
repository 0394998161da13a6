"""The errors a user can act on: each is one clear line (`Error: ...` in the CLI, a JSON or
HTML message on the web) and never a traceback. Their type says whose move it is:

- InvalidInput: the request is wrong (a bad query, date, file or argument): fix it and ask again
- NotFound: no such record, file or database
- NotReady: the knowledge base cannot answer that yet (nothing embedded, no index): run the command it names
- ConfigError: the settings are wrong (sources.toml, an environment variable)
- CannotWrite: a file could not be written (disk full, a file-size limit, permissions): make room, run again

The web answers them 400, 404, 503 and 500; the CLI exits 4 for CannotWrite, else 1.
"""


class KBError(Exception):
    """An expected problem with a clear message for the user (no traceback)."""


class InvalidInput(KBError):
    """The request itself is wrong: a bad query, date, file, field or argument."""


class NotFound(KBError):
    """No such record, file or database."""


class NotReady(KBError):
    """The knowledge base cannot answer that yet (nothing embedded, no vector index)."""


class ConfigError(KBError):
    """A setting is wrong: a key of sources.toml, an environment variable."""


class CannotWrite(KBError):
    """A file could not be written (disk full, a size limit, permissions); the old one is kept whole."""
