"""Legal facts with provenance, in English and Chinese.

`facts(title, text)` is a pure function: it splits `document_text(title,
text)` into sentences and returns `LegalFact` values, each with the exact
sentence it came from and that sentence's offsets. Kinds: arrest, charge,
plea, verdict, sentence, settlement, claim. `status` keeps claims apart from
outcomes:

- sentence: imposed | maximum ("faces up to 10 years") | agreed (a plea
  agreement's terms) | requested
- charge: alleged ("allegedly", 涉嫌, indicted) | convicted (pleaded guilty to,
  convicted of, 犯…罪)
- plea: guilty | not_guilty | no_contest | agreed (agreed to plead guilty)
- verdict: convicted | acquitted | liable
- claim: claimed (索赔, seeks) | awarded (判令赔偿, awarded)

`extract_facts(db, doc_ids)` stores them in `legal_facts`, replacing each
document's rows. `recognise_court_record(text)` says whether a text is a
court record (judgment, docket, court announcement) and what it names.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, fields
from typing import Callable

import sqlite_utils

from . import workers
from .entities import case_numbers, courts, dates, document_text, normalise_case_number
from .scan import AnyOf, Scanner
from .store import batches, transaction
from .text import HAN

@dataclass(frozen=True)
class LegalFact:
    """One legal fact and the sentence it was read from."""

    kind: str
    status: str | None
    sentence: str
    start: int  # offsets of the sentence in document_text(title, text)
    end: int
    sentence_type: str | None = None  # incarceration, probation, supervised_release, fine, restitution...
    statute: str | None = None  # the offence: "wire fraud", "18 U.S.C. § 1030", 破坏计算机信息系统罪
    count: int | None = None
    quantity: int | None = None
    unit: str | None = None  # year, month, day, hour
    amount: float | None = None
    currency: str | None = None
    date: str | None = None
    case_number: str | None = None


# --- sentences ------------------------------------------------------------------

_ABBREV = re.compile(r"(?:\b(?:U\.S|Mr|Mrs|Ms|Dr|Jr|Sr|No|Nos|Inc|Corp|Co|Ltd|St|Mt|v|vs|Jan|Feb|Mar|Apr|Jun|Jul|"
                     r"Aug|Sep|Sept|Oct|Nov|Dec|Gen|Sen|Rep|Gov|Lt|Sgt|Capt|Col|Ft|Ariz|Calif|Cal|Fla|Ga|Ill|Ind|"
                     r"Kan|Ky|La|Md|Mass|Mich|Minn|Miss|Mo|Mont|Neb|Nev|Okla|Ore|Pa|Tenn|Tex|Va|Vt|Wash|Wis|Wyo|"
                     r"Conn|Del|Colo|Ala|Ark|S\.C|N\.C|N\.Y|N\.J|D\.C|Mich|Penn|U\.S\.C|P\.R|Ph\.D|a\.m|p\.m|etc|"
                     r"[A-Z])|§)\.$")
_BREAK = re.compile(r"[。！？；\n]+|(?<=[.!?])[\"'”’)]*\s+(?=[\"“(]?[A-Z0-9])")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: Chinese full stops, line breaks, and English
    full stops before a capital that do not end an abbreviation (U.S., Jr., Calif.)."""
    spans, start = [], 0
    for m in _BREAK.finditer(text):
        if m.group(0)[:1] not in "。！？；\n" and _ABBREV.search(text[max(0, m.start() - 12):m.start()]):
            continue
        end = m.start() + (1 if m.group(0)[:1] in "。！？；" else 0)
        if text[start:end].strip():
            spans.append(_strip(text, start, end))
        start = m.end()
    if text[start:].strip():
        spans.append(_strip(text, start, len(text)))
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- numbers --------------------------------------------------------------------

_EN_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_EN_NUMBERS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                    "ninety": 90, "a": 1, "an": 1})
_EN_NUM = (r"(?:\d{1,3}|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|"
           r"six|seven|eight|nine))?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
           r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|an?)")
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_NUM = r"[\d零〇一二两三四五六七八九十百千]+"


def en_number(word: str) -> int:
    word = word.lower().strip()
    if word.isdigit():
        return int(word)
    parts = re.split(r"[- ]", word)
    return sum(_EN_NUMBERS[p] for p in parts)


def zh_number(word: str) -> int:
    """六 → 6, 十二 → 12, 二十五 → 25, 一百 → 100, 36 → 36."""
    if word.isdigit():
        return int(word)
    total, current = 0, 0
    for ch in word:
        if ch in _ZH_DIGITS:
            current = _ZH_DIGITS[ch]
        elif ch in "十百千":
            total += (current or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            current = 0
        elif ch.isdigit():
            current = current * 10 + int(ch)
    return total + current


_MONEY_EN = Scanner(re.compile(r"(?:US\$|\$|\bUSD\s?)\s?(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:\s?(?P<m>million|billion|thousand)\b)?",
                       re.I))
_MONEY_ZH = re.compile(rf"(?:人民币)?(?P<n>\d+(?:\.\d+)?|{_ZH_NUM})(?P<u>千万|百万|十万|万|亿)?(?P<c>美元|港元|元)")
_MULT = {"million": 1e6, "billion": 1e9, "thousand": 1e3, "千万": 1e7, "百万": 1e6, "十万": 1e5, "万": 1e4,
         "亿": 1e8, None: 1}


def _en_money(m: re.Match) -> float:
    return float(m.group("n").replace(",", "")) * _MULT[(m.group("m") or "").lower() or None]


def _zh_money(m: re.Match) -> tuple[float, str]:
    n = m.group("n")
    value = float(n) if re.fullmatch(r"\d+(?:\.\d+)?", n) else zh_number(n)
    return value * _MULT[m.group("u")], {"美元": "USD", "港元": "HKD"}.get(m.group("c"), "CNY")


# --- English rules --------------------------------------------------------------

_MAXIMUM = Scanner(re.compile(r"\b(?:faces?|facing|faced|could (?:face|receive|be sentenced)|carr(?:y|ies)|maximum|"
                      r"up to|punishable|as much as|statutory|potential)\b", re.I))
_REQUESTED = Scanner(re.compile(r"\b(?:recommend(?:ed|s)?|ask(?:ed|s)? the court|seek(?:s|ing)?|request(?:ed|s)?)\b", re.I))
_SENTENCED = Scanner(re.compile(r"\bsentenc(?:e|ed|es|ing)\b|\bjailed\b|\bimprisoned\b|\bordered to (?:serve|pay)\b|\bwas fined\b|"
                        r"\bwere fined\b|\bto serve\b|^Sentence:|\bis serving\b|\bhave been imposed\b", re.I))
_DURATION = re.compile(rf"\b(?P<n>{_EN_NUM}|\d+)(?P<half>\.5| and a half)?[- ](?P<u>years?|months?|days?|hours?)\b",
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
_COUNTS = re.compile(rf"\b(?P<n>{_EN_NUM}|\d+) (?:felony |misdemeanor |criminal |separate )?counts? of\b", re.I)
_USC = re.compile(r"\b(?P<t>\d{1,2})\s*U\.?\s?S\.?\s?C\.?\s*(?:§+|[Ss]ections?|[Ss]ec\.)?\s*(?P<s>\d{2,5}[a-z]?(?:\([a-z0-9]+\))*)"
                  r"|Title (?P<t2>\d{1,2}),? United States Code,? [Ss]ections? (?P<s2>\d{2,5}[a-z]?(?:\([a-z0-9]+\))*)")


_EN_LEGAL_WORDS = Scanner(re.compile(r"sentenc|jail|prison|ple(?:a|d)|guilty|convict|acquit|verdict|arrest|custody|surrender|"
                             r"charg|indict|accused|settle|agree|\bsue|claim|seek|demand|award|damages|Offense|"
                             r"\bfine|restitution|probation|supervised|liable|serving|compensation|counts? of|jury|penalt|"
                             r"incarcerat", re.I))


def _en_facts(sent: str) -> list[dict]:
    out: list[dict] = []
    if not _EN_LEGAL_WORDS.search(sent):  # most sentences say nothing legal: one scan instead of forty
        return out
    hypothetical = bool(_HYPOTHETICAL.search(sent))
    if _SENTENCED.search(sent) or _MAXIMUM.search(sent):
        for m in _DURATION.finditer(sent):
            kind = _penalty_type(sent, m)
            if kind and not re.match(r"\s*(?:old|ago|later|after|before|earlier)\b", sent[m.end():m.end() + 8]) \
                    and not re.search(r"(?:years?|months?) and $", sent[:m.start()]):
                quantity, unit = en_number(m.group("n")), m.group("u").lower().rstrip("s")
                if m.group("half") and unit == "year":  # three and a half years, 3.5 years
                    quantity, unit = quantity * 12 + 6, "month"
                out.append({"kind": "sentence", "status": _sentence_status(sent, m), "sentence_type": kind,
                            "quantity": quantity, "unit": unit})
        for m in re.finditer(r"\blife (?:in prison|imprisonment|sentence)\b", sent, re.I):
            out.append({"kind": "sentence", "status": _sentence_status(sent, m), "sentence_type": "incarceration",
                        "quantity": None, "unit": "life"})
        for m in _MONEY_EN.finditer(sent):
            kind = _amount_type(sent, m)
            if kind:
                out.append({"kind": "sentence", "status": _sentence_status(sent, m), "sentence_type": kind,
                            "amount": _en_money(m), "currency": "USD"})
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
        for m in _USC.finditer(sent):
            out.append({"kind": "charge", "status": status,
                        "statute": f"{m.group('t') or m.group('t2')} U.S.C. § {m.group('s') or m.group('s2')}",
                        "count": count})
    if _SETTLE.search(sent) and not hypothetical:
        money = _MONEY_EN.search(sent)
        out.append({"kind": "settlement", "status": "agreed",
                    "amount": _en_money(money) if money else None, "currency": "USD" if money else None})
    if (_CLAIM_EN.search(sent) or _AWARD_EN.search(sent)) and re.search(r"damages|compensation|sued|lawsuit|suit\b",
                                                                       sent, re.I):
        for m in _MONEY_EN.finditer(sent):
            out.append({"kind": "claim", "status": "awarded" if _AWARD_EN.search(sent) else "claimed",
                        "amount": _en_money(m), "currency": "USD"})
    return out


_MAX_BEFORE = Scanner(re.compile(r"(?:\bup to|\bmaximum(?: penalty| sentence| term)?(?: of)?|\bfaces?|\bfacing|\bfaced|"
                         r"\bnot more than|\bas much as|\bcould (?:receive|face|get)|\bpunishable by|"
                         r"\bstatutory (?:maximum|minimum)|\bmandatory minimum(?: of)?|\bpossible)\b[^.;]{0,45}$", re.I))


def _sentence_status(sent: str, m: re.Match) -> str:
    """imposed, maximum (faces up to ...), agreed (a plea agreement's terms) or requested."""
    before = sent[max(0, m.start() - 60):m.start()]
    after = sent[m.end():m.end() + 40]
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


def _amount_type(sent: str, m: re.Match) -> str | None:
    after = sent[m.end():m.end() + 30]
    before = sent[max(0, m.start() - 40):m.start()]
    for kind, rx in _AMOUNT_TYPES:
        if re.match(rf"\s*(?:(?:in|as|a|criminal|civil)\s+){{0,3}}(?:{rx})", after, re.I):
            return kind
    for kind, rx in _AMOUNT_TYPES:
        if re.search(rf"(?:{rx})\w*\s*(?:of|totaling|totalling|in the amount of|amounting to)?\s*(?:up to\s+)?"
                     rf"(?:more than\s+|approximately\s+|about\s+|nearly\s+)?$", before, re.I):
            return kind
    return None


# --- Chinese rules --------------------------------------------------------------

_ZH_TERM = rf"(?P<y>{_ZH_NUM})年(?:零?(?P<m>{_ZH_NUM})个月)?|(?P<mo>{_ZH_NUM})个月"
_ZH_PENALTY = Scanner(re.compile(
    rf"(?P<kind>有期徒刑|拘役|管制|缓刑|剥夺政治权利)(?:{_ZH_TERM})|(?P<life>无期徒刑|死刑)"
    rf"|(?P<money>罚金|罚款|退赔|赔偿|违法所得)(?:人民币)?(?P<amt>(?:\d+(?:\.\d+)?|{_ZH_NUM})(?:千万|百万|十万|万|亿)?(?:美元|港元|元))"))
_ZH_KIND = {"有期徒刑": "incarceration", "拘役": "incarceration", "管制": "probation", "缓刑": "probation",
            "剥夺政治权利": "deprivation_of_political_rights", "罚金": "fine", "罚款": "fine",
            "退赔": "restitution", "赔偿": "restitution", "违法所得": "forfeiture"}
_ZH_SENTENCED = re.compile(r"判处|判决|被判|判刑|决定执行|宣告缓刑|处罚金|并处")
_ZH_MAXIMUM = re.compile(r"最高(?:可)?(?:判处|处)|可能(?:被)?判处|可(?:以)?判处|可处|将面临|面临|处.{0,10}以下")
_ZH_CRIME = Scanner(re.compile(r"(?P<pre>涉嫌犯?|涉犯嫌犯|(?<!侵)犯有?|以|构成|因犯|认定.{0,6}犯)(?P<crime>[" + HAN + r"、，]{2,24}?罪)(?!犯|行|名|证)"))
_ZH_ARREST = re.compile(r"刑事拘留|被抓获|抓获归案|被(?:依法)?逮捕|批准逮捕|决定逮捕|被(?:公安机关|民警)?(?:当场)?抓获|"
                        r"被(?:依法)?拘留|投案|传唤归案|被羁押|执行逮捕")
_ZH_PLEA = re.compile(r"认罪认罚|当庭认罪|自愿认罪|表示认罪|认罪悔罪|承认指控")
_ZH_CLAIM = re.compile(r"索赔|诉请|请求(?:法院)?[，,]?\s*判令|要求(?:其|被告)?赔偿|诉讼请求|起诉要求")
_ZH_HYPOTHETICAL = re.compile(r"如果|假如|若是|一旦|可能|或将|或许")
_ZH_AWARD = re.compile(r"判令|判决.{0,12}赔偿|法院.{0,10}(?:支持|判).{0,12}赔偿")
_ZH_SETTLE = re.compile(r"和解|调解结案|达成调解|调解协议")


def _zh_facts(sent: str) -> list[dict]:
    out: list[dict] = []
    maximum = bool(_ZH_MAXIMUM.search(sent))
    sentenced = bool(_ZH_SENTENCED.search(sent))
    if sentenced or maximum:
        status = "maximum" if maximum and not re.search(r"判决|决定执行|被判处", sent) else "imposed"
        for m in _ZH_PENALTY.finditer(sent):
            if m.group("life"):
                out.append({"kind": "sentence", "status": status, "sentence_type": "incarceration",
                            "quantity": None, "unit": "life" if m.group("life") == "无期徒刑" else "death"})
            elif m.group("money"):
                amount, currency = _zh_money(_MONEY_ZH.search(m.group("amt")))
                out.append({"kind": "sentence", "status": status, "sentence_type": _ZH_KIND[m.group("money")],
                            "amount": amount, "currency": currency})
            else:
                years = zh_number(m.group("y")) if m.group("y") else 0
                months = zh_number(m.group("m") or m.group("mo") or "0")
                quantity, unit = (years, "year") if not months else (years * 12 + months, "month")
                out.append({"kind": "sentence", "status": status, "sentence_type": _ZH_KIND[m.group("kind")],
                            "quantity": quantity, "unit": unit})
    seen = set()
    for m in _ZH_CRIME.finditer(sent) if not _ZH_HYPOTHETICAL.search(sent) else ():
        crime = re.split(r"[，、]?(?:以|(?<!侵)犯|涉嫌)", m.group("crime"))[-1]
        crime = re.sub(r"^(?:其|了|的|有)", "", crime)
        if len(crime) < 3 or crime in seen or crime in ("犯罪", "罪行") or crime.endswith("的罪"):
            continue
        seen.add(crime)
        status = "alleged" if "涉" in m.group("pre") else "convicted"
        out.append({"kind": "charge", "status": status, "statute": crime})
    if _ZH_ARREST.search(sent):
        out.append({"kind": "arrest", "status": None})
    if _ZH_PLEA.search(sent):
        out.append({"kind": "plea", "status": "guilty"})
    if re.search(r"宣告无罪|判决.{0,10}无罪", sent):
        out.append({"kind": "verdict", "status": "acquitted"})
    elif re.search(r"(?:判决|本院认为|判处).{0,40}(?:犯|构成)[" + HAN + r"、]{2,20}罪", sent):
        out.append({"kind": "verdict", "status": "convicted"})
    if _ZH_SETTLE.search(sent):
        money = _MONEY_ZH.search(sent)
        amount, currency = _zh_money(money) if money else (None, None)
        out.append({"kind": "settlement", "status": "agreed", "amount": amount, "currency": currency})
    claim, award = _ZH_CLAIM.search(sent), _ZH_AWARD.search(sent) and not _ZH_CLAIM.search(sent)
    if claim or award:
        for m in _MONEY_ZH.finditer(sent):
            amount, currency = _zh_money(m)
            out.append({"kind": "claim", "status": "awarded" if award else "claimed",
                        "amount": amount, "currency": currency})
    return out


# --- documents ------------------------------------------------------------------

_CJK = re.compile(f"[{HAN}]")


def facts(title: str | None, text: str | None, published: str | None = None) -> list[LegalFact]:
    """Every legal fact in a document, each with its sentence, offsets, date and case number."""
    full = document_text(title, text)
    case_no = next((e.name for e in case_numbers(full)), None)
    dated = None
    out: list[LegalFact] = []
    seen = set()
    # English sentences worth reading hold one of these (no match crosses a sentence break)
    legal_words = [m.start() for m in _EN_LEGAL_WORDS.finditer(full)]
    for start, end in sentences(full):
        sent = full[start:end]
        if _CJK.search(sent):
            found = _zh_facts(sent)
        elif bisect.bisect_left(legal_words, start) < bisect.bisect_left(legal_words, end):
            found = _en_facts(sent)
        else:
            continue
        if not found:
            continue
        dated = dates(full, published) if dated is None else dated
        in_sentence = [d for d in dated if start <= d.start < end and d.value and "/" not in d.value]
        for f in found:
            when = _date_of(f["kind"], sent, start, in_sentence)
            key = (start, tuple(sorted((k, str(v)) for k, v in f.items())))
            if key in seen:
                continue
            seen.add(key)
            out.append(LegalFact(sentence=sent, start=start, end=end, date=when, case_number=case_no, **f))
    return out


_ANCHORS = {"sentence": r"sentenc|jailed|imprisoned|判处|判决|被判", "plea": r"plead|pled|guilty plea|认罪",
            "arrest": r"arrest|custody|surrender|拘留|逮捕|抓获|投案", "charge": r"charg|indict|complaint|涉嫌|起诉",
            "verdict": r"convict|guilty|verdict|acquit|判决|宣判", "settlement": r"settle|和解|调解",
            "claim": r"sue|claim|seek|索赔|起诉|判令"}


def _date_of(kind: str, sent: str, offset: int, in_sentence: list) -> str | None:
    """The date in the sentence nearest the words that name this step ('pleaded guilty in August
    2020 and in December 2020 was sentenced': the sentence is dated December 2020)."""
    if not in_sentence:
        return None
    anchor = re.search(_ANCHORS[kind], sent, re.I)
    if not anchor:
        return in_sentence[0].value
    return min(in_sentence, key=lambda d: abs(d.start - offset - anchor.start())).value


_COLUMNS = ("document_id", *(f.name for f in fields(LegalFact) if f.name not in ("start", "end")),
            "start_offset", "end_offset")
_INSERT = f"INSERT INTO legal_facts ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def extract_facts(db: sqlite_utils.Database, doc_ids: list[int]) -> Callable[[], int]:
    """Begin extracting each document's legal facts (on kb.workers' processes where it may use
    them); returns the function that waits for them, replaces the documents' rows in
    legal_facts and returns the rows written. kb.ingest calls it after its later steps."""
    doc_ids = list(dict.fromkeys(doc_ids))
    stored: dict[int, tuple] = {}
    for chunk in batches(doc_ids, 500):
        marks = ", ".join("?" * len(chunk))
        stored.update((row[0], row[1:]) for row in db.execute(
            f"SELECT id, title, text, published FROM documents WHERE id IN ({marks})", chunk))
    present = [doc_id for doc_id in doc_ids if doc_id in stored]
    found = workers.start(_facts_of, [stored[doc_id] for doc_id in present])

    def write() -> int:
        rows = [_row(doc_id, f) for doc_id, doc_facts in zip(present, found()) for f in doc_facts]
        with transaction(db):
            for chunk in batches(doc_ids, 500):
                db.execute(f"DELETE FROM legal_facts WHERE document_id IN ({', '.join('?' * len(chunk))})", chunk)
            db.conn.executemany(_INSERT, rows)
        return len(rows)

    return write


def _facts_of(row: tuple) -> list[LegalFact]:
    return facts(*row)


def _row(doc_id: int, f: LegalFact) -> tuple:
    row = {field.name: getattr(f, field.name) for field in fields(f)}  # asdict without its deep copies
    row["document_id"], row["start_offset"], row["end_offset"] = doc_id, row.pop("start"), row.pop("end")
    if row["case_number"]:
        row["case_number"] = normalise_case_number(row["case_number"])
    return tuple(row[c] for c in _COLUMNS)


# --- court records --------------------------------------------------------------

_ZH_COURT_MARKS = re.compile(r"刑事判决书|民事判决书|刑事裁定书|民事裁定书|判决书|裁定书|开庭公告|公诉机关|被告人|原告|"
                             r"经审理查明|本院认为|判决如下|中国裁判文书网|审判长|书记员|起诉书指控|上诉人|原审被告人|如实供述|归案|"
                             r"案发后|抓获|作案|投案|公安机关|被害人")
_ZH_CAUSE = re.compile(r"[" + HAN + r"、]{2,20}?(?:罪|纠纷)")
_ZH_PARTY = re.compile(r"(?P<role>被告人|被告|原告|上诉人|被上诉人|公诉机关|申请人|被申请人)[:：]?\s*"
                       r"(?P<name>[" + HAN + r"（）()]{2,30}?(?:公司|检察院|集团)|[" + HAN + r"]某{1,2}[\d甲乙丙]?"
                       r"|[" + HAN + r"]{2,3}(?=[，,。、（(：:]))")


_ZH_CIVIL_CAUSE = Scanner(re.compile(r"(?:侵权责任|侵害商业秘密|侵害技术秘密|不正当竞争|劳动合同|竞业限制|计算机软件著作权(?:权属|侵权)?|"
                             r"著作权侵权|著作权权属、侵权|名誉权|服务合同|技术服务合同|买卖合同|借款合同|财产损害赔偿|"
                             r"合同)纠纷|劳动争议"))


def recognise_court_record(text: str) -> dict | None:
    """For a Chinese judgment, ruling or court announcement: its case number, court, parties,
    cause and judgment; None for anything else (news, blogs)."""
    if not _CJK.search(text or ""):
        return None
    marks = set(_ZH_COURT_MARKS.findall(text))
    numbers = case_numbers(text)
    if not numbers and len(marks) < 2 and text.count("被告人") < 2:
        return None
    if re.search(r"记者|报道|据悉|来源[:：]|编辑[:：]|责任编辑", text[:2000]) and not numbers:
        return None
    court = next((e.name for e in courts(text)), None)
    number = numbers[0].name if numbers else None
    cause = None
    for m in _ZH_CRIME.finditer(text):
        cause = re.split(r"[，、]?(?:以|(?<!侵)犯|涉嫌)", m.group("crime"))[-1]
        break
    if cause is None:
        m = _ZH_CIVIL_CAUSE.search(text)
        cause = m.group(0) if m else None
    criminal = bool(re.search(r"被告人|被害人|公诉|犯罪", text) or "刑" in (number or "")
                    or (cause or "").endswith("罪"))
    parties: dict[str, list[str]] = {}
    for m in _ZH_PARTY.finditer(text):
        role = m.group("role")
        defendant = role.startswith(("被告", "被上诉", "被申请")) or (role == "上诉人" and criminal)
        names = parties.setdefault("defendant" if defendant else "plaintiff", [])
        if m.group("name") not in names and len(names) < 10:
            names.append(m.group("name"))
    sentence = next((f for f in facts(None, text) if f.kind == "sentence" and f.status == "imposed"), None)
    return {
        "case_number": normalise_case_number(number) if number else None,
        "court": court,
        "parties": parties,
        "cause": cause,
        "case_type": "criminal" if criminal else "civil",
        "judgment": sentence.sentence if sentence else None,
    }
