"""Incidents: link documents to the incident they report, and let people correct the machine.

- link: the pipeline's linking step, joining other sources' incidents of one case, the review list
- matcher, scoring, sketches: candidates by index, the evidence of a pair and its score, text sketches
- fields: incident fields and court cases derived from a document's facts
- edits: manual decisions (merge, split, link, edit) that always win
- similar: incidents like a given one
"""

from .edits import edit, manual_link, merge, split
from .fields import EDITABLE
from .link import candidates
from .similar import similar

__all__ = ["EDITABLE", "candidates", "edit", "manual_link", "merge", "similar", "split"]
