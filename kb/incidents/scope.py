"""Whether an incident is in the field: a deliberate act by an insider against or through an
organisation's technology (in), an error, a theft with no technology act, snooping or an outsider's
act (out), or too little said to tell (unsure).

    scope, reason = decide(incident)   # a dict of incident fields (+ optional "veris" facets)

The rules read what the records say: VERIS action categories and varieties (the incident's
`action`), motives, the insider role (VERIS files former employees as external actors), the
incident type, VERIS asset varieties and attributes where the record kept them, and the
summary's words. The first rule that fires decides, and its reason is kept with the incident.
`bench/scope.py` measures them on tests/data/scope_labels.tsv.
"""

from __future__ import annotations

import re

from ..text.scripts import HAN

SCOPES = ("in", "out", "unsure")

_FIELD_TYPES = {"sabotage", "ip_theft", "espionage"}  # the field's own kinds

# A technology act: what the insider did to or through systems, code or data.
_TECH_ACT = re.compile(
    r"hack|logic bomb|malicious (?:code|script|program)|damaging (?:computer )?code|secret code|"
    r"kill switch|back ?door|wip(?:e|ed|ing)\b|delet(?:e|ed|ing) (?:\w+ ){0,3}(?:data|files?|database|"
    r"servers?|accounts?|records|code|backups?|virtual machines)|destroy(?:ed)? (?:\w+ ){0,2}data|"
    r"sabotag|(?:reset|wiped|shut down|disabled|took down) (?:[\w']+ ){0,4}(?:servers?|systems?|network|"
    r"replication|backups?|cooling)|encrypt(?:ed)? (?:\w+ ){0,2}(?:data|files)|source code|trade secrets?|proprietary|"
    r"formulas?|blueprints?|designs?\b|download(?:ed|ing)?|cop(?:ied|y|ying) (?:\w+ ){0,4}(?:data|files?|"
    r"records|information|lines)|exfiltrat|flash drive|thumb drive|\busb\b|e-?mail(?:ed|ing)? (?:\w+ ){0,6}"
    r"(?:to (?:her|his|their) (?:own |personal )|personal (?:e-?mail|account))|personal (?:e-?mail|"
    r"gmail|account)|(?:sell|sold|selling|trafficking) (?:\w+ ){0,4}(?:data|records|information|"
    r"identities|details)|computer (?:fraud|crime|intrusion)|"
    r"(?:co-?workers?'?|manager'?s?) (?:\w+ ){0,2}(?:log-?in|credentials|information to get access)|"
    r"misused (?:his |her |their )?access|skim|stole (?:\w+ ){0,4}(?:data|secrets|ip|intellectual property|records from)|"
    r"steal (?:\w+ ){0,3}secrets|intellectual property|falsif|tamper|altered|modif(?:y|ied) (?:\w+ ){0,2}"
    r"(?:records|data|code)|fraudulent(?:ly)? (?:transfer|transaction|use of (?:\w+ ){0,2}(?:computer|system))|"
    r"tax (?:refund )?fraud|identity theft ring|fraud ring|copied from (?:the|its) platform|"
    r"fraudulently (?:used|using) (?:\w+ ){0,3}(?:computer|system|access)|"
    # the same in Chinese: tampering, 删库, planting code, damaging systems, stealing code or data
    r"篡改|删库|删除.{0,8}(?:数据|代码|数据库|服务器|系统|账号)|破坏计算机信息系统|植入|后门|逻辑炸弹|"
    r"攻击.{0,8}(?:训练|系统|服务器|模型|网络)|源代码|商业秘密|窃取.{0,8}(?:数据|代码|信息|资料|秘密)|"
    r"非法获取计算机信息系统数据|侵犯公民个人信息|拷贝.{0,8}(?:数据|代码|资料)|出售.{0,8}(?:数据|信息)",
    re.I)
# Systems named as where something happened: a technology act only when something was taken,
# sold or used for gain (else it reads as snooping).
_SYSTEM_WORDS = re.compile(
    r"database|work computer|computer system|unauthori[sz]ed (?:use of|access to) (?:\w+ ){0,3}(?:system|computer|"
    r"network|credentials|login)|access to (?:the )?(?:\w+ ){0,2}(?:network|system|portals?)", re.I)
_NOT_MALICIOUS = re.compile(r"non-?malicious|not (?:a )?malicious|no malicious|not used maliciously", re.I)
# An error or a loss, stated as such.
_ERROR_WORDS = re.compile(
    r"inadvertent|accident|mistaken|by mistake|in error|erroneous|misdeliver|misdirect|mis-?sent|"
    r"wrong (?:address|number|recipient|person|patient|veteran|fax)|misconfigur|misplaced|\blost\b|"
    r"\bloss\b|missing|left (?:behind|unsecured|in)|found (?:in|on|dumped)|dumped|discarded|"
    r"disposal|recycling|publicly accessible|exposed online|glitch|coding error|programming error|"
    r"误发|误操作|丢失|遗失|配置错误",
    re.I)
# Looking at records without taking or using them.
_SNOOPING = re.compile(
    r"snoop|\bspy\b|spied|spying|harass|inappropriate(?:ly)?|"
    r"without (?:a )?(?:need|medical reason|work[- ]related|justifiable|permission|authori[sz]ation|a business)|"
    r"inappropriately accessed|accessed (?:[\w'’-]+ ){0,6}(?:records?|charts?|files?|info)|"
    r"looked (?:\w+ ){0,3}up|looked at|viewed|viewing|curiosity|unauthori[sz]ed access|went into",
    re.I)
# Taking or handing on data: theft when it was taken through systems, not from paper.
_DATA_THEFT = re.compile(
    r"(?:stole|steal(?:s|ing)?|stolen|took|taking|cop(?:ied|ying)|downloaded|sold|sell(?:ing)?|trafficking|"
    r"handed|provid(?:ed|ing)|pass(?:ed|ing)|leak(?:ed|ing)?|disseminat\w+|misappropriat\w+) "
    r"(?:\w+ ){0,6}(?:personal|identit(?:y|ies)|customers?'?|patients?'?|clients?'?|accounts?|cards?|credit|"
    r"data|records|information|details|ssns?|social security|secrets|documents)|"
    r"(?:data|records|information)(?: \w+){0,6} (?:were |was |had )?(?:\w+ )?(?:stolen|copied|downloaded)",
    re.I)
# Looking, said in so many words: to view, looked at, snooped, out of curiosity.
_LOOKED = re.compile(r"\bto view\b|\bviewed\b|\bviewing\b|looked at|look(?:ed)? up|brows(?:e|ed|ing)\b|snoop|curiosity|\bspy\b|spied|"
                     r"spying", re.I)
_GAIN = re.compile(r"fraud|identity theft|steal|stole|stolen|\bsold\b|\bsell|profit|for money|bribe|extort|"
                   r"financial gain|dissemin", re.I)
_NOT_STAFF = re.compile(r"\bstudents?\b|\bteen\b|better grades|\bpatients? (?:hacked|accessed)|club members|"
                        r"members of (?:the )?(?:\w+ ){0,3}(?:club|public)", re.I)
_STAFF = re.compile(r"\b(?:an?|the) (?:\w+ )?(?:employee|worker|staff member)|\bfired\b|employer|\bemployed\b|"
                    r"worked (?:at|for)", re.I)
_SYSTEM_ASSET = re.compile(r"^S - ")  # VERIS server assets: databases, mail, web applications...
_NO_GAIN_MOTIVES = {"Fun", "NA", "Unknown", "Convenience", "Other"}
_PAPER = {"M - Documents", "M - Payment card", "P - Customer", "P - Other", "P - Unknown", "T - ATM"}
_DETAIL_WORDS = 12  # a summary shorter than this says too little to tell snooping from theft


def decide(inc: dict) -> tuple[str, str]:
    """(scope, reason) for one incident's fields; optional: `inc["veris"]`, VERIS facets, and
    `inc["text"]`, what its documents say beyond the summary."""
    actions = _actions(inc.get("action"))
    categories = set(actions)
    varieties = {v for vs in actions.values() for v in vs}
    motives = {m.strip() for m in (inc.get("motive") or "").split(",") if m.strip()}
    text = " ".join(x for x in (inc.get("summary"), inc.get("impact_description"), inc.get("text")) if x)
    veris = inc.get("veris") or {}
    assets = set(veris.get("assets") or [])
    role = inc.get("insider_role") or "unknown"
    itype = inc.get("incident_type")
    curated = bool(inc.get("curated"))

    if curated and itype in _FIELD_TYPES | {"data_theft", "fraud"} and role != "unknown":
        return "in", f"curated {itype.replace('_', ' ')} by an insider ({role.replace('_', ' ')})"
    if categories == {"error"} or itype == "unintentional":
        what = ", ".join(sorted(varieties)) or "error"
        return "out", f"coded as an unintentional error ({what.lower()})"
    if not actions and not curated and itype is None:
        return _from_text(text, role)
    if role == "unknown" and not curated:
        return "out", "no insider among the actors"
    if _NOT_STAFF.search(text) and not _STAFF.search(text):
        return "out", "the actor is not the organisation's staff"
    tech = _TECH_ACT.search(text)
    if categories & {"hacking", "malware"}:
        return "in", f"{role.replace('_', ' ')} used {'/'.join(sorted(categories & {'hacking', 'malware'}))}" \
                     " against or through the organisation's systems"
    if itype in _FIELD_TYPES and (tech or "Espionage" in motives or categories & {"misuse"}):
        return "in", f"{itype.replace('_', ' ')} by an insider" + (f": \"{tech.group(0)}\"" if tech else "")
    if _NOT_MALICIOUS.search(text):
        return "out", f"the record says it was not malicious: \"{_NOT_MALICIOUS.search(text).group(0)}\""
    looked = _LOOKED.search(text)
    if looked and not (_GAIN.search(text) or _DATA_THEFT.search(text) or motives & {"Financial", "Espionage"}):
        return "out", f"snooping: records looked at, not taken or used (\"{looked.group(0)}\")"
    if tech:
        return "in", f"deliberate act through the organisation's technology: \"{tech.group(0)}\""
    error = _ERROR_WORDS.search(text)
    if error and not _GAIN.search(text):
        return "out", f"the record describes an error or loss: \"{error.group(0)}\""
    if assets and assets <= _PAPER | {"Unknown"} and assets - {"Unknown"}:
        return "out", "no technology act: the assets are paper, cards or people " \
                      f"({', '.join(sorted(assets - {'Unknown'}))})"
    systems = sorted(a for a in assets if _SYSTEM_ASSET.match(a))
    theft = _DATA_THEFT.search(text)
    if theft and (systems or not assets - {"Unknown"}):
        return "in", f"data taken or handed on by an insider: \"{theft.group(0)}\""
    if "physical" in categories and not categories - {"physical", "error"}:
        return "out", "a physical theft with no technology act"
    gain = _GAIN.search(text)
    snoop = _SNOOPING.search(text)
    if snoop and role == "former_employee":
        return "in", f"a former employee still used the organisation's systems: \"{snoop.group(0)}\""
    if categories <= {"misuse", "error"} and not gain and (
            (snoop and not motives & {"Financial", "Espionage"}) or
            (motives <= _NO_GAIN_MOTIVES and _words(text) >= _DETAIL_WORDS)):
        return "out", "snooping or misconduct: nothing taken, sold or harmed" + \
            (f" (\"{snoop.group(0)}\")" if snoop else "")
    system = _SYSTEM_WORDS.search(text)
    if system:
        return "in", f"deliberate misuse of the organisation's systems: \"{system.group(0)}\""
    if _words(text) < _DETAIL_WORDS:
        return "unsure", "the record says too little about what the insider did"
    if systems and categories & {"misuse", "social"} and motives & {"Financial", "Espionage", "Grudge"}:
        return "in", f"deliberate misuse of a system ({', '.join(systems)}) for gain"
    if categories & {"misuse", "social"} and motives & {"Financial", "Espionage", "Grudge"}:
        return "unsure", "deliberate misuse for gain, but no technology act is stated"
    return "unsure", "no rule decides: neither a technology act nor an error is stated"


def _from_text(text: str, role: str) -> tuple[str, str]:
    """Scope of an incident with no VERIS coding (a news article, a court record)."""
    if role == "unknown":
        return "unsure", "no insider role is stated"
    tech = _TECH_ACT.search(text)
    if tech:
        return "in", f"{role.replace('_', ' ')}'s act through the organisation's technology: \"{tech.group(0)}\""
    error = _ERROR_WORDS.search(text)
    if error:
        return "out", f"the text describes an error or loss: \"{error.group(0)}\""
    return "unsure", "no technology act or error is stated"


def _words(text: str) -> int:
    """Words of `text`, each Chinese character counted as one."""
    return len(re.findall(f"[{HAN}]|[^\\W\\d_]+", text))


def _actions(action: str | None) -> dict[str, list[str]]:
    """'misuse: Privilege abuse, Data mishandling; physical' → {'misuse': [...], 'physical': []}."""
    out: dict[str, list[str]] = {}
    for part in (action or "").split(";"):
        category, _, varieties = part.partition(":")
        if category.strip():
            out[category.strip().lower()] = [v.strip() for v in varieties.split(",") if v.strip()]
    return out
