"""Incidents: link documents to the incident they report, and let people correct the machine.

- match: extract entities and link documents (`link_documents`, `relink`)
- fields: incident fields and court cases derived from a document's facts
- edits: manual decisions (merge, split, link, edit) that always win
- similar: incidents like a given one
"""

from .edits import edit, manual_link, merge, split
from .fields import EDITABLE
from .match import THRESHOLD, candidates, extract_documents, link_documents, relink, score_match
from .similar import similar

__all__ = ["EDITABLE", "THRESHOLD", "candidates", "edit", "extract_documents", "link_documents", "manual_link", "merge",
           "relink", "score_match", "similar", "split"]
