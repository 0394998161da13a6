"""Insider Incident KB: insider incidents in tech from news and court records, with semantic search.

    from kb import KB
    kb = KB("db/kb.db")
    kb.search("intern sabotaged model training", k=5)

`KB` (kb.knowledge_base) is the object to start from; its errors are in kb.errors.
"""

from .errors import ConfigError, InvalidInput, KBError, NotFound, NotReady
from .knowledge_base import KB

__version__ = "0.1.0"
__all__ = ["KB", "ConfigError", "InvalidInput", "KBError", "NotFound", "NotReady", "__version__"]
