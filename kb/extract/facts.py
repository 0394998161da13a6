"""What, how much and when: statutes, amounts of money, dates and the incident type of a text.

Each function reads a whole text (title, blank line, body) and returns `Entity`
mentions with their spans; kb.extract.entities adds sentences and statuses.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

from ..text.numbers import money as amounts
from ..text.scan import Scanner, alternatives, lowered
from ..text.sentences import Sentences
from .entity import Entity


# --- statutes --------------------------------------------------------------------

_ZH_CRIMES = {
    "破坏计算机信息系统罪": "286", "非法获取计算机信息系统数据罪": "285", "非法侵入计算机信息系统罪": "285",
    "非法控制计算机信息系统罪": "285", "侵犯商业秘密罪": "219", "侵犯公民个人信息罪": "253-1",
    "职务侵占罪": "271", "故意毁坏财物罪": "275", "毁坏财物罪": "275", "破坏生产经营罪": "276",
    "挪用资金罪": "272", "非国家工作人员受贿罪": "163", "诈骗罪": "266", "盗窃罪": "264",
    "侵权责任纠纷": None, "侵害商业秘密纠纷": None, "劳动争议": None,
}
_ZH_CRIME_RE = re.compile("|".join(sorted(map(re.escape, _ZH_CRIMES), key=len, reverse=True)))
# US Code sections: 18 U.S.C. § 1030(a)(5), 18 USC 1832, Title 18, United States Code, Section 1343
# (the look-ahead lets the regex engine skip to the next digit or T instead of trying both branches everywhere)
USC = re.compile(r"(?=[\dT])(?:\b(?P<t>\d{1,2})\s*U\.?\s?S\.?\s?C\.?\s*(?:§+|[Ss]ections?|[Ss]ec\.)?\s*(?P<s>\d{2,5}[a-z]?)(?P<sub>(?:\([a-z0-9]+\))*)"
                 r"|Title (?P<t2>\d{1,2}),? United States Code,? [Ss]ections? (?P<s2>\d{2,5}[a-z]?)(?P<sub2>(?:\([a-z0-9]+\))*))")


def usc(m: re.Match, subsections: bool = False) -> str:
    """'18 U.S.C. § 1030' (with `subsections`: '18 U.S.C. § 1030(a)(5)') for a match of USC."""
    sub = (m.group("sub") or m.group("sub2") or "") if subsections else ""
    return f"{m.group('t') or m.group('t2')} U.S.C. § {m.group('s') or m.group('s2')}{sub}"


_ACTS = {
    "Computer Fraud and Abuse Act": "18 U.S.C. § 1030",
    "Defend Trade Secrets Act": "18 U.S.C. § 1836",
    "Economic Espionage Act": "18 U.S.C. § 1832",
}
_ACT_RE = Scanner(re.compile("|".join(map(re.escape, _ACTS)) + r"|\b(?P<abbr>CFAA|DTSA)\b"))


def statutes(text: str) -> list[Entity]:
    """US Code sections, the CFAA/DTSA/EEA by name, Chinese crimes and causes of action."""
    out = [Entity("statute", usc(m), m.group(0), m.start(), m.end()) for m in USC.finditer(text)]
    for m in _ACT_RE.finditer(text):
        key = {"CFAA": "Computer Fraud and Abuse Act", "DTSA": "Defend Trade Secrets Act"}.get(m.group(0), m.group(0))
        out.append(Entity("statute", _ACTS[key], m.group(0), m.start(), m.end(), value=key))
    for m in _ZH_CRIME_RE.finditer(text):
        article = _ZH_CRIMES[m.group(0)]
        out.append(Entity("statute", m.group(0), m.group(0), m.start(), m.end(),
                          value=f"PRC Criminal Law art. {article}" if article else "cause of action"))
    return out


# --- money --------------------------------------------------------------------

_MONEY_LABELS = [  # checked in order; 'costs' must sit right before/after the amount
    ("costs", r"合理支出|律师费|诉讼费|费用|\bcosts\b|\bexpenses\b|legal fees", 10),
    ("claim", r"索赔|赔偿|判令|请求|诉请|\bclaims?\b|\bseek(?:s|ing)?\b|sued .{0,20}for|\bdamages\b|compensation", 40),
    ("fine", r"罚金|罚款|\bfined?\b|\brestitution\b|\bpenalty\b", 30),
    ("loss", r"损失|\blosses?\b|\bcost (?:the|it|its)\b|\bdamage\b|造成", 30),
]


def money(text: str) -> list[Entity]:
    """Amounts with currency (kb.text.numbers): 800万元 → 8000000 CNY, 上千万美元 → 10000000 USD,
    $1.2 million, each labelled by what the words before it say it is."""
    return [Entity("money", m.value, m.surface, m.start, m.end, value=m.value, label=_money_label(text, m.start, m.end))
            for m in amounts(text)]


def _money_label(text: str, start: int, end: int) -> str | None:
    before = _clause_before(text, start, 40)
    after = text[end:end + 15]
    for label, rx, reach in _MONEY_LABELS:
        if re.search(rx, before[-reach:], re.I) or (label == "costs" and re.match(rf"\s*(?:{rx})", after, re.I)):
            return label
    return None


def _clause_before(text: str, pos: int, reach: int) -> str:
    window = text[max(0, pos - reach):pos]
    cut = max(window.rfind(c) for c in "。；！？\n")
    return window[cut + 1:]


# --- dates --------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
_MONTH_RX = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_ZH_DATE = re.compile(
    r"(?:(?P<y>\d{4})年)?(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})[日号])?"
    r"(?:\s*(?:至|到|—|–|-|~)\s*(?:(?P<y2>\d{4})年)?(?P<m2>\d{1,2})月(?:(?P<d2>\d{1,2})[日号])?)?"
)
_EN_RANGE = Scanner(re.compile(
    rf"\b(?P<m>{_MONTH_RX})\.?\s*(?:-|–|—|to|and|through)\s*(?P<m2>{_MONTH_RX})\.?,?\s+(?P<y>\d{{4}})\b"))
_EN_DATE = Scanner(re.compile(
    rf"\b(?:(?P<d>\d{{1,2}})\s+)?(?P<m>{_MONTH_RX})\.?\s+(?:(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+)?(?P<y>\d{{4}})\b"),
    needs=("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))
_ISO_DATE = Scanner(re.compile(r"\b(?P<y>(?:19|20)\d{2})-(?P<m>\d{2})-(?P<d>\d{2})\b"))
_US_DATE = Scanner(re.compile(r"\b(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})\b"), needs=("/",))
_DATE_LABELS = [  # first label whose words appear in the sentence (after the date, then before it)
    ("case", r"受理|立案|起诉|诉讼|提起|\bfiled\b|\bsued\b|\blawsuit\b|\bsuit\b|accepted the case|\bindicted\b|\bcharged\b|\bcomplaint\b"),
    ("judgment", r"判处|判决|宣判|\bsentenced\b|\bconvicted\b|pleaded guilty|\bverdict\b"),
    ("dismissal", r"辞退|开除|解除|\bfired\b|\bdismissed\b|\bterminated\b|\blet go\b"),
    ("reported", r"媒体|报道|通报|披露|获悉|\breported\b|\bannounced\b|\bdisclosed\b"),
    ("incident", r"攻击|篡改|破坏|删除|窃取|盗取|泄露|植入|\battack|sabotag|tamper|\bdelet|\bstole|\bsteal|"
                 r"\bdownload|\bcopied\b|\bplanted\b|\baccessed\b|\bwiped\b"),
]
_DATE_LABEL_RES = [(label, re.compile(rx, re.I)) for label, rx in _DATE_LABELS]


def dates(text: str, published: str | None = None, sentences: Sentences | None = None) -> list[Entity]:
    """Dates and month ranges as ISO values, labelled by what the sentence says happened
    (`sentences`: those of `text`, when the caller split it already)."""
    ref = _ref_date(published)
    spans: list[tuple[int, int, str]] = []

    def add(m: re.Match, value: str | None) -> None:
        if value and not any(a < m.end() and m.start() < b for a, b, _ in spans):
            spans.append((m.start(), m.end(), value))

    for m in _ZH_DATE.finditer(text) if "月" in text else ():
        if m.group("y") or m.group("d"):
            add(m, _zh_value(m, ref))
    for m in _EN_RANGE.finditer(text):
        y = int(m.group("y"))
        add(m, f"{_iso(y, _month(m.group('m')))}/{_iso(y, _month(m.group('m2')))}")
    for m in _EN_DATE.finditer(text):
        add(m, _iso(int(m.group("y")), _month(m.group("m")), m.group("d") or m.group("d2")))
    for m in _ISO_DATE.finditer(text):
        add(m, _iso(int(m.group("y")), int(m.group("m")), m.group("d")))
    for m in _US_DATE.finditer(text):
        y = int(m.group("y"))
        add(m, _iso(y + 2000 if y < 50 else y + 1900 if y < 100 else y, int(m.group("m")), m.group("d")))
    if spans:
        sentences = sentences or Sentences(text)
    return [Entity("date", v, text[a:b], a, b, value=v, label=_date_label(sentences, a, b)) for a, b, v in spans]


def _ref_date(published: str | None) -> date | None:
    m = re.match(r"(\d{4})-(\d{2})(?:-(\d{2}))?", published or "")
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)) if m else None


def _month(name: str) -> int:
    return next(i for n, i in _MONTHS.items() if n.startswith(name.lower().rstrip(".")[:3]))


def _iso(y: int, m: int, d: str | int | None = None) -> str | None:
    if not 1 <= m <= 12 or not 1900 <= y <= 2100:
        return None
    if d is None:
        return f"{y:04d}-{m:02d}"
    try:
        return date(y, m, int(d)).isoformat()
    except ValueError:
        return None


def _zh_value(m: re.Match, ref: date | None) -> str | None:
    month = int(m.group("m"))
    if m.group("y"):
        year = int(m.group("y"))
    elif ref:  # 11月27日 in an article of 2024-11-29
        year = ref.year if month <= ref.month else ref.year - 1
    else:
        return None
    start = _iso(year, month, m.group("d"))
    if not m.group("m2"):
        return start
    end = _iso(int(m.group("y2") or year), int(m.group("m2")), m.group("d2"))
    return f"{start}/{end}" if start and end else start


def _date_label(sentences: Sentences, start: int, end: int) -> str | None:
    """What the date's sentence says happened then: the words after the date first, then those before."""
    _, sentence_start, sentence_end = sentences.at(start)
    after = sentences.text[end:max(end, sentence_end)]
    before = sentences.text[min(sentence_start, start):start]
    for part in (after, before):
        for label, rx in _DATE_LABEL_RES:
            if rx.search(part):
                return label
    return None


# --- incident type ------------------------------------------------------------

_TYPES = {
    "sabotage": r"篡改|破坏|恶意攻击|删库|删除|植入|逻辑炸弹|投毒|sabotag|logic bomb|tamper|\bwiped\b|\bdeleted\b|"
                r"\bdestroy|\bdisrupt|malicious code|backdoor",
    "ip_theft": r"商业秘密|源代码|源码|技术秘密|trade secrets?|source code|proprietary|intellectual property",
    "data_theft": r"个人信息|用户数据|客户数据|customer (?:data|records|information)|personal (?:data|information)|"
                  r"patient (?:data|records|information)|\bidentity theft",
    "fraud": r"诈骗|贪污|挪用|侵占|回扣|受贿|\bfraud|embezzl|kickback|\bbrib|\bforged\b",
    "espionage": r"间谍|国家秘密|espionage|\bspy|\bspied\b|foreign government|classified",
    "unintentional": r"误操作|失误|accidental|mistakenly|inadvertent|misdeliver|\blost (?:a |an |the )?laptop",
}
_TYPE_RE = Scanner(alternatives(list(_TYPES.items())))
_SUBTYPES = [
    ("sabotage", "model training sabotage", r"模型训练|训练任务|model training|training (?:job|run|task)s?"),
    ("sabotage", "logic bomb", r"逻辑炸弹|logic bomb"),
    ("sabotage", "data deletion", r"删库|删除数据|deleted (?:\w+ )?(?:data|files|database|records)|\bwiped\b"),
    ("ip_theft", "source code theft", r"源代码|源码|source code"),
    ("ip_theft", "trade secret theft", r"商业秘密|trade secrets?"),
]
_SUBTYPE_RES = [(t, s, Scanner(re.compile(rx, re.I))) for t, s, rx in _SUBTYPES]


def incident_types(text: str) -> list[Entity]:
    """The incident type (IIDES-style) with the strongest evidence, and a subtype where clear."""
    hits = list(_TYPE_RE.finditer(lowered(text)))
    if not hits:
        return []
    best = Counter(m.lastgroup for m in hits).most_common(1)[0][0]
    first = next(m for m in hits if m.lastgroup == best)
    subtype = next((s for t, s, rx in _SUBTYPE_RES if t == best and rx.search(text)), None)
    return [Entity("incident_type", best, text[first.start():first.end()], first.start(), first.end(),
                   value=subtype)]
