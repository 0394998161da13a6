"""How the site answers an error: its type says whose move it is (kb.errors)."""

from __future__ import annotations

from ..errors import ConfigError, InvalidInput, KBError, NotFound, NotReady

STATUS = {InvalidInput: 400, NotFound: 404, NotReady: 503, ConfigError: 500}


def status_of(error: KBError) -> int:
    """400 for a bad request, 404 for a missing record, 503 while the KB cannot answer yet, 500 for bad settings."""
    return next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
