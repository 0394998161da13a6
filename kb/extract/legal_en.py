"""Legal facts stated by one English sentence: arrests, charges (offence, statute, counts),
pleas, verdicts, sentences (type, quantity, unit or amount), settlements and claims.

`sentence_facts(sentence)` returns LegalFact fields (kb.extract.legal) as dicts;
`status` keeps claims apart from outcomes (a maximum is not a sentence, an
allegation not a conviction).
"""

from __future__ import annotations

import re

from ..text.numbers import EN_NUM, en_number, money
from ..text.scan import AnyOf, Scanner
from .facts import USC, usc

_MAXIMUM = Scanner(re.compile(r"\b(?:faces?|facing|faced|could (?:face|receive|be sentenced)|carr(?:y|ies)|maximum|"
                      r"up to|punishable|as much as|statutory|potential)\b", re.I))
_REQUESTED = Scanner(re.compile(r"\b(?:recommend(?:ed|s)?|ask(?:ed|s)? the court|seek(?:s|ing)?|request(?:ed|s)?)\b", re.I))
_SENTENCED = Scanner(re.compile(r"\bsentenc(?:e|ed|es|ing)\b|\bjailed\b|\bimprisoned\b|\bordered to (?:serve|pay)\b|\bwas fined\b|"
                        r"\bwere fined\b|\bto serve\b|^Sentence:|\bis serving\b|\bhave been imposed\b", re.I))
_DURATION = re.compile(rf"\b(?P<n>{EN_NUM}|\d+)(?P<half>\.5| and a half)?[- ](?P<u>years?|months?|days?|hours?)\b",
                       re.I)
_PENALTY_WORDS = [  # first match after a duration (or before it) names the sentence type
    ("supervised_release", r"supervised release"),
    ("probation", r"probation"),
    ("home_confinement", r"home (?:confinement|detention)|house arrest"),
    ("community_service", r"community service"),
    ("incarceration", r"prison|imprisonment|incarcerat|jail|custody|behind bars|confinement|in a federal|"
                      r"prison term"),
]
_AMOUNT_TYPES = [
    ("restitution", r"restitution"),
    ("forfeiture", r"forfeit"),
    ("special_assessment", r"special assessment"),
    ("fine", r"\bfine[ds]?\b|\bpenalt"),
]
_OFFENCES = [  # canonical offence name, pattern (the charge vocabulary of the labelled set)
    ("computer fraud", r"computer (?:fraud|intrusion|hacking|tampering|trespass)|unauthori[sz]ed (?:computer )?access|"
                       r"(?:illegally|unlawfully) accessing|damag\w+ (?:a )?protected computer|accessing a protected computer|"
                       r"Computer Fraud and Abuse"),
    ("theft of trade secrets", r"theft of trade secrets?|trade secrets? theft|steal\w* trade secrets?"),
    ("espionage", r"espionage|\bspying\b"),
    ("honest services fraud", r"honest services"),
    ("wire fraud", r"wire fraud"),
    ("mail fraud", r"mail (?:and wire )?fraud"),
    ("bank fraud", r"bank fraud"),
    ("loan fraud", r"loan (?:application )?fraud|mortgage fraud"),
    ("health care fraud", r"health ?care fraud|medicare fraud|defraud\w* (?:the )?medicare"),
    ("securities fraud", r"securities fraud|insider trading|market manipulation|accounting fraud"),
    ("fraud against the United States", r"defraud\w* the (?:U\.S\.|United States)"),
    ("tax offence", r"tax evasion|false (?:individual )?(?:income )?(?:tax )?returns?|imped\w* the IRS|"
                    r"obstruct\w* the IRS|fail\w* to file|tax fraud|preparation of false"),
    ("fraud", r"\bfelony fraud\b"),
    ("money laundering", r"money laundering|launder"),
    ("bribery", r"brib|corrupt payments|Foreign Corrupt Practices|\bFCPA\b|kickback"),
    ("extortion", r"extortion"),
    ("embezzlement", r"embezzl"),
    ("identity theft", r"identity theft"),
    ("passport fraud", r"passport fraud"),
    ("theft", r"\btheft\b(?! of trade)|\bsteal(?!\w* trade)|\bstole\b(?! trade)"),
    ("civil rights violation", r"civil rights(?! Division)|deprivation of rights|under color of law|excessive force"),
    ("hate crime", r"hate crime"),
    ("assault", r"(?<!sexual )\bassault"),
    ("sexual abuse", r"sexual (?:abuse|assault|contact|exploitation)|child (?:exploitation|pornography)"),
    ("murder", r"\bmurder|\bhomicide"),
    ("torture", r"\btortur"),
    ("arson", r"\barson|\bburn the church"),
    ("firearm offence", r"firearm(?!s and Explosives)"),
    ("obstruction of justice", r"obstruct\w* (?:of )?justice|witness tampering"),
    ("false statements", r"false statements?|lying to"),
    ("racketeering", r"racketeer|\b(?-i:RICO)\b"),
    ("material support to terrorists", r"material support"),
    ("terrorism", r"\bterrorism\b"),
    ("foreign agent", r"agents? of a foreign government|acting as (?:\w+ )?agents"),
    ("export violations", r"\bexport|\bIEEPA\b|International Emergency Economic Powers"),
    ("smuggling", r"smuggl|bringing aliens"),
    ("price fixing", r"price[- ]fix|fix(?:ing)? (?:the )?prices|bid[- ]rig|Sherman Act|antitrust(?! Division)"),
    ("unauthorised disclosure", r"unlawful(?:ly)? disclos|unauthori[sz]ed disclos"),
    ("misbranding", r"misbrand"),
    ("regulatory offence", r"\bOSHA\b|Clean Water Act|Clean Air Act|Lacey Act|worker safety"),
    ("unlawful flight", r"unlawful flight"),
    ("conspiracy", r"conspir"),
]
_OFFENCE_RE = [(name, Scanner(re.compile(rx, re.I))) for name, rx in _OFFENCES]
_ANY_OFFENCE = AnyOf([rx for _, rx in _OFFENCE_RE])
_CHARGE_TRIGGER = Scanner(re.compile(r"(?<!in )(?<!in-)\bcharg(?:ed|es?|ing)\b(?! to customers)|\bindicted\b|\bcounts? of\b|"
                             r"\bple(?:aded|d|ads?|ad|ading) (?:guilty|no contest|nolo contendere)\b|\bguilty pleas? to\b|\bconvicted\b|\bguilty (?:of|on)\b|"
                             r"\baccused of\b|\bsentenced (?:\w+ ){0,4}for\b|^Offense:", re.I))
_ALLEGED = re.compile(r"\b(?:allegedly|alleged|accused|charg(?:ed|es|ing)|indict(?:ed|ment)|complaint|information)\b",
                      re.I)
_CONVICTED = Scanner(re.compile(r"\b(?:pleaded guilty|pled guilty|pleads? guilty|plead guilty|convicted|found guilty|pleaded no contest|"
                        r"guilty verdict|sentenced)\b", re.I))
_PLEA = Scanner(re.compile(r"\b(?P<agreed>agree[sd]? to |agreement to )?(?:pleaded|pled|pleads?|pleading) "
                   r"(?P<not>not )?guilty\b|\bentered (?:a )?(?P<not2>not )?guilty pleas?\b|"
                   r"\bguilty pleas?\b|\b(?:pleaded|pled|pleads?) (?P<nolo>no contest|nolo contendere)\b", re.I))
_VERDICT = Scanner(re.compile(r"\b(?:(?P<conv>convicted|found guilty|guilty verdict|jury (?:found|returned a verdict))|"
                      r"(?P<acq>acquitted|found not guilty)|(?P<liable>found liable|held liable))\b", re.I))
_ARREST = Scanner(re.compile(r"\b(?:was|were|been|being) arrested\b|\barrested (?:\w+ )?(?:on|in|at|by|yesterday|today|"
                     r"last|this|after)\b|\btaken into (?:federal )?custody\b|\bsurrendered to\b|\bself-surrendered\b|"
                     r"\barrest of\b|\barrests (?:made|of)\b", re.I))
_SETTLE = Scanner(re.compile(r"\bsettle(?:d|s|ment)?\b|\bagreed to pay\b|\bagrees to pay\b", re.I))
_CLAIM_EN = Scanner(re.compile(r"\b(?:seek(?:s|ing)?|sued (?:\w+ ){0,4}for|claim(?:s|ed|ing)?|demand(?:s|ed|ing)?)\b", re.I))
_AWARD_EN = Scanner(re.compile(r"\b(?:awarded|ordered to pay (?:damages|compensation)|judgment of|verdict of)\b", re.I))
_HYPOTHETICAL = Scanner(re.compile(r"\b(?:if convicted|could|would|may|might)\b", re.I))
_COUNTS = re.compile(rf"\b(?P<n>{EN_NUM}|\d+) (?:felony |misdemeanor |criminal |separate )?counts? of\b", re.I)


LEGAL_WORDS = Scanner(re.compile(r"sentenc|jail|prison|ple(?:a|d)|guilty|convict|acquit|verdict|arrest|custody|surrender|"
                             r"charg|indict|accused|settle|agree|\bsue|claim|seek|demand|award|damages|Offense|"
                             r"\bfine|restitution|probation|supervised|liable|serving|compensation|counts? of|jury|penalt|"
                             r"incarcerat", re.I))


def sentence_facts(sent: str) -> list[dict]:
    """The legal facts an English sentence states, as LegalFact fields."""
    out: list[dict] = []
    if not LEGAL_WORDS.search(sent):  # most sentences say nothing legal: one scan instead of forty
        return out
    hypothetical = bool(_HYPOTHETICAL.search(sent))
    amounts = money(sent)
    if _SENTENCED.search(sent) or _MAXIMUM.search(sent):
        for m in _DURATION.finditer(sent):
            kind = _penalty_type(sent, m)
            if kind and not re.match(r"\s*(?:old|ago|later|after|before|earlier)\b", sent[m.end():m.end() + 8]) \
                    and not re.search(r"(?:years?|months?) and $", sent[:m.start()]):
                quantity, unit = en_number(m.group("n")), m.group("u").lower().rstrip("s")
                if m.group("half") and unit == "year":  # three and a half years, 3.5 years
                    quantity, unit = quantity * 12 + 6, "month"
                out.append({"kind": "sentence", "status": _sentence_status(sent, m.start(), m.end()),
                            "sentence_type": kind, "quantity": quantity, "unit": unit})
        for m in re.finditer(r"\blife (?:in prison|imprisonment|sentence)\b", sent, re.I):
            out.append({"kind": "sentence", "status": _sentence_status(sent, m.start(), m.end()),
                        "sentence_type": "incarceration", "quantity": None, "unit": "life"})
        for m in amounts:
            kind = _amount_type(sent, m.start, m.end)
            if kind:
                out.append({"kind": "sentence", "status": _sentence_status(sent, m.start, m.end),
                            "sentence_type": kind, "amount": m.amount, "currency": m.currency})
    for m in _PLEA.finditer(sent):
        if m.group("agreed"):
            status = "agreed"
        elif m.group("nolo"):
            status = "no_contest"
        elif m.group("not") or m.group("not2"):
            status = "not_guilty"
        elif m.group(0).lower().startswith("guilty plea") and not re.search(r"\b(?:entered|accepted)\b", sent, re.I):
            continue
        else:
            status = "guilty"
        out.append({"kind": "plea", "status": status})
        break
    verdict = _VERDICT.search(sent)
    if verdict and not hypothetical:
        status = "convicted" if verdict.group("conv") else "acquitted" if verdict.group("acq") else "liable"
        out.append({"kind": "verdict", "status": status})
    if _ARREST.search(sent) and not hypothetical:
        out.append({"kind": "arrest", "status": None})
    if _CHARGE_TRIGGER.search(sent) and not re.search(r"\b(?:may|could|might) face\b", sent, re.I):
        status = "convicted" if _CONVICTED.search(sent) else "alleged"
        counts = _COUNTS.search(sent)
        count = en_number(counts.group("n")) if counts else None
        for name, rx in (_OFFENCE_RE[i] for i in _ANY_OFFENCE.possible(sent)):
            if rx.search(sent):
                out.append({"kind": "charge", "status": status, "statute": name, "count": count})
        for m in USC.finditer(sent):
            out.append({"kind": "charge", "status": status, "statute": usc(m, subsections=True), "count": count})
    if _SETTLE.search(sent) and not hypothetical:
        first = amounts[0] if amounts else None
        out.append({"kind": "settlement", "status": "agreed",
                    "amount": first.amount if first else None, "currency": first.currency if first else None})
    if (_CLAIM_EN.search(sent) or _AWARD_EN.search(sent)) and re.search(r"damages|compensation|sued|lawsuit|suit\b",
                                                                       sent, re.I):
        for m in amounts:
            out.append({"kind": "claim", "status": "awarded" if _AWARD_EN.search(sent) else "claimed",
                        "amount": m.amount, "currency": m.currency})
    return out


_MAX_BEFORE = Scanner(re.compile(r"(?:\bup to|\bmaximum(?: penalty| sentence| term)?(?: of)?|\bfaces?|\bfacing|\bfaced|"
                         r"\bnot more than|\bas much as|\bcould (?:receive|face|get)|\bpunishable by|"
                         r"\bstatutory (?:maximum|minimum)|\bmandatory minimum(?: of)?|\bpossible)\b[^.;]{0,45}$", re.I))


def _sentence_status(sent: str, start: int, end: int) -> str:
    """imposed, maximum (faces up to ...), agreed (a plea agreement's terms) or requested."""
    before = sent[max(0, start - 60):start]
    after = sent[end:end + 40]
    if _MAX_BEFORE.search(before) or re.match(r"[^.;]{0,25}\b(?:maximum|statutory)", after, re.I):
        return "maximum"
    imposed = re.search(r"\b(?:was|were|been|is|are|be) sentenced\b|\bsentenced (?:\w+ ){0,3}to\b|^Sentence:|"
                        r"\bhave been imposed\b|\bis serving\b", sent, re.I)
    if not imposed and re.search(r"\bmaximum|\bfac(?:es?|ing)\b|\bcarr(?:y|ies)\b|\bup to\b|\bif convicted\b|\bcould\b",
                                 sent, re.I):
        return "maximum"
    if not imposed and re.search(r"\bagree[sd]?\b|\bplea agreement\b", sent, re.I):
        return "agreed"
    if _REQUESTED.search(before) and not re.search(r"\bsentenced\b", before, re.I):
        return "requested"
    return "imposed"


def _penalty_type(sent: str, m: re.Match) -> str | None:
    after = sent[m.end():m.end() + 40]
    for kind, rx in _PENALTY_WORDS:
        if re.match(rf"(?:\s+and (?:one|a) day)?['’]?[\s,]*(?:(?:in|of|to|on|under|federal|a|the|state|county|term)\s+){{0,3}}"
                    rf"(?:{rx})", after, re.I):
            return kind
    before = sent[max(0, m.start() - 45):m.start()]
    for kind, rx in _PENALTY_WORDS:
        if re.search(rf"(?:{rx})\w*\s*(?:term\s+)?(?:of|for)?\s*(?:up to\s+)?$", before, re.I):
            return kind
    if re.search(r"sentenced (?:\w+ ){0,8}to (?:serve )?$|\bserving an? $|\b(?:jailed|imprisoned) (?:for )?$",
                 before, re.I):
        return "incarceration"
    return None


def _amount_type(sent: str, start: int, end: int) -> str | None:
    after = sent[end:end + 30]
    before = sent[max(0, start - 40):start]
    for kind, rx in _AMOUNT_TYPES:
        if re.match(rf"\s*(?:(?:in|as|a|criminal|civil)\s+){{0,3}}(?:{rx})", after, re.I):
            return kind
    for kind, rx in _AMOUNT_TYPES:
        if re.search(rf"(?:{rx})\w*\s*(?:of|totaling|totalling|in the amount of|amounting to)?\s*(?:up to\s+)?"
                     rf"(?:more than\s+|approximately\s+|about\s+|nearly\s+)?$", before, re.I):
            return kind
    return None
