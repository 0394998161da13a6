"""A court case's name and parties where its source gives neither: "A v. B" where its claims
name it, else the prosecution against the insider (criminal) or the organisation against
them (civil). Parties are written as sources write them: "Name (plaintiff); Name (defendant)", or (prosecution)."""

from __future__ import annotations

import re
from dataclasses import replace

from ..records import CaseRecord

# "Toshiba v. SK Hynix: damages ...", "WM Morrison Supermarkets plc v Various Claimants: ..."
_VERSUS = re.compile(r"^\s*(?P<a>[^:;()\n]{2,120}?)\s+v(?:s)?\.?\s+(?P<b>[^:;()\n]{2,120}?)\s*(?=[:;(]|$)")
_PROSECUTION = {"US": "United States", "GB": "R", "UK": "R"}  # how their courts name the prosecuting side


def named_case(case: CaseRecord, organisation: str | None, insider: str | None,
               country: str | None) -> CaseRecord:
    """The case with `case_name` and `parties` filled where empty (what it had stays)."""
    if case.case_name and case.parties:
        return case
    versus = _VERSUS.match(case.claims or "") or _VERSUS.match(case.case_name or "")
    if versus:
        plaintiff, defendant = versus.group("a").strip(), versus.group("b").strip()
    elif case.case_type == "criminal":
        plaintiff, defendant = _PROSECUTION.get((country or "").upper(), "Prosecution"), insider
    elif case.case_type == "civil":
        plaintiff, defendant = organisation, insider
    else:
        return case
    name = f"{plaintiff} v. {defendant}" if plaintiff and defendant else None
    first = "prosecution" if case.case_type == "criminal" else "plaintiff"
    parties = "; ".join(f"{who} ({side})" for who, side in ((plaintiff, first), (defendant, "defendant")) if who)
    return replace(case, case_name=case.case_name or name, parties=case.parties or parties or None)
