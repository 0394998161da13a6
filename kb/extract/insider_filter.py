"""Is this text about an insider incident? A bilingual keyword filter (English, Chinese).

Relevant when a strong term appears (insider threat, trade secrets, 内鬼, 删库,
商业秘密...), or an insider (employee, former employee, intern, contractor,
前员工, 实习生...) appears together with a harmful act (sabotage, deleted,
leaked, stole, source code, 泄露, 篡改, 窃取...). "Insider trading" and
内幕交易 are not insider incidents and are ignored.
"""

from __future__ import annotations

import re

_IGNORED = re.compile(r"insider[- ]trading|内幕交易", re.I)

_STRONG_EN = [
    r"insider threats?", r"rogue (?:employee|engineer|admin\w*|insider|worker|staffer)s?",
    r"trade secrets?", r"logic bombs?", r"economic espionage", r"malicious insiders?",
    r"disgruntled (?:employee|worker|ex-employee|former employee|engineer|admin\w*)s?",
]
_ACTORS_EN = [
    r"(?:ex-|former )?(?:employee|staffer|staff member|worker|engineer|developer|"
    r"contractor|intern|sysadmin|system administrator|it administrator|insider)s?",
]
_ACTS_EN = [
    r"sabotag\w*", r"wip(?:e|ed|es|ing)", r"delet(?:e|ed|es|ing)", r"destroy\w*", r"leak\w*",
    r"st(?:ole|eal|eals|ealing|olen)", r"theft", r"exfiltrat\w*", r"source code", r"backdoor\w*",
    r"tamper\w*", r"malicious code", r"(?:illegally|unlawfully|improperly) access\w*",
    r"unauthori[sz]ed access", r"unlawful disclosure", r"embezzl\w*", r"defraud\w*",
    r"fraud\w*", r"copied", r"download(?:ed|ing) (?:confidential|proprietary|sensitive)",
]
_STRONG_ZH = ["内鬼", "删库", "篡改代码", "商业秘密", "内部威胁", "投毒", "离职员工", "前员工"]
_ACTORS_ZH = ["员工", "实习生", "外包", "工程师", "程序员", "管理员", "内部人员", "职员"]
_ACTS_ZH = ["破坏", "删除", "篡改", "泄露", "泄密", "窃取", "盗取", "源代码", "源码", "攻击",
            "植入", "后门", "侵犯", "非法获取", "贪污", "挪用"]


def _words(patterns: list[str]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.I)


_STRONG = _words(_STRONG_EN)
_ACTORS = _words(_ACTORS_EN)
_ACTS = _words(_ACTS_EN)


def matched_terms(text: str, extra: list[str] = (), pairs: bool = True) -> list[str]:
    """The terms that make `text` relevant (lower-cased, in order); empty if it is not.

    With `pairs=False` only strong terms (and `extra`) count, not insider + act pairs.
    """
    text = _IGNORED.sub(" ", text or "")
    lowered = text.lower()
    found = [t for t in extra if t.lower() in lowered]
    found += [m.group(0).lower() for m in _STRONG.finditer(text)]
    found += [t for t in _STRONG_ZH if t in text]
    actors = [m.group(0).lower() for m in _ACTORS.finditer(text)] + [t for t in _ACTORS_ZH if t in text]
    acts = [m.group(0).lower() for m in _ACTS.finditer(text)] + [t for t in _ACTS_ZH if t in text]
    if pairs and actors and acts:
        found += actors + acts
    return list(dict.fromkeys(found))


def is_relevant(text: str, extra: list[str] = ()) -> bool:
    """True when `text` looks like an insider incident (see module docstring)."""
    return bool(matched_terms(text, extra))
