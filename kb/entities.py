"""Rule-based entity and fact extraction from a document, in English and Chinese.

`extract(title, text)` is a pure function: it returns `Entity` values with
the span they came from in `document_text(title, text)` (title, blank line,
text). Kinds: organisation, person, role, court, case_number, statute,
money, date, incident_type. `name` is the canonical form shared across
documents and languages (字节跳动 and ByteDance are both "ByteDance");
`value` is a normalised value (8000000 CNY, 2024-06/2024-07, intern); `label`
says what a fact is about (claim, costs, loss, incident, dismissal, case...).

Aliases live in the `entities` / `entity_aliases` tables, seeded from
`SEED_ALIASES` on first use; users add rows there (or `kb entity alias`).
"""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from .db import get_setting, set_setting
from .errors import KBError
from .scan import Scanner
from .text import HAN

SEED_VERSION = "1"

# canonical name -> aliases (any language); the canonical name is an alias too.
SEED_ALIASES: dict[str, dict[str, list[str]]] = {
    "organisation": {
        "ByteDance": ["字节跳动", "字节跳动公司", "北京字节跳动科技有限公司", "Bytedance", "ByteDance Ltd"],
        "Tencent": ["腾讯", "腾讯公司", "Tencent Holdings"],
        "Weimob": ["微盟", "微盟集团"],
        "Alibaba": ["阿里巴巴", "阿里巴巴集团", "Alibaba Group"],
        "Alibaba Cloud": ["阿里云"],
        "Ant Group": ["蚂蚁集团"],
        "Baidu": ["百度", "百度公司"],
        "Huawei": ["华为", "华为公司", "华为技术有限公司", "Huawei Technologies"],
        "Xiaomi": ["小米", "小米公司", "小米集团"],
        "Lianjia": ["链家", "链家网"],
        "SenseTime": ["商汤", "商汤科技"],
        "NetEase": ["网易"],
        "JD.com": ["京东"],
        "Meituan": ["美团"],
        "Pinduoduo": ["拼多多"],
        "Kuaishou": ["快手"],
        "DiDi": ["滴滴", "滴滴出行", "Didi Chuxing"],
        "ZTE": ["中兴", "中兴通讯"],
        "Lenovo": ["联想"],
        "TSMC": ["台积电", "Taiwan Semiconductor Manufacturing Company"],
        "Google": ["谷歌", "Google LLC", "Alphabet"],
        "Apple": ["苹果公司", "Apple Inc"],
        "Tesla": ["特斯拉", "Tesla Inc"],
        "Meta": ["Facebook", "Meta Platforms", "脸书"],
        "Microsoft": ["微软", "Microsoft Corp", "Microsoft Corporation"],
        "Amazon": ["AWS", "Amazon Web Services", "亚马逊", "Amazon.com"],
        "Samsung": ["三星", "Samsung Electronics"],
        "Cisco": ["思科", "Cisco Systems"],
        "Uber": ["优步"],
        "Waymo": [],
        "OpenAI": [],
        "Nvidia": ["英伟达", "NVIDIA"],
        "Intel": ["英特尔"],
        "IBM": [],
        "Oracle": ["甲骨文"],
        "Twitter": ["推特"],
        "Yahoo": ["雅虎"],
        "Qualcomm": ["高通"],
        "Micron": ["美光"],
        "Motorola": ["摩托罗拉"],
        "General Electric": [],
        "Boeing": ["波音"],
    },
    "court": {
        "Beijing Haidian District People's Court": [
            "北京市海淀区人民法院", "海淀区人民法院", "海淀法院",
            "Haidian District People's Court", "Haidian District Court", "Haidian People's Court"],
        "Beijing Intellectual Property Court": ["北京知识产权法院"],
        "Shanghai Intellectual Property Court": ["上海知识产权法院"],
        "Beijing Internet Court": ["北京互联网法院"],
        "Hangzhou Internet Court": ["杭州互联网法院"],
        "Supreme People's Court": ["最高人民法院"],
    },
}

ORG_COUNTRY = {
    "ByteDance": "CN", "Tencent": "CN", "Weimob": "CN", "Alibaba": "CN", "Alibaba Cloud": "CN",
    "Ant Group": "CN", "Baidu": "CN", "Huawei": "CN", "Xiaomi": "CN", "Lianjia": "CN",
    "SenseTime": "CN", "NetEase": "CN", "JD.com": "CN", "Meituan": "CN", "Pinduoduo": "CN",
    "Kuaishou": "CN", "DiDi": "CN", "ZTE": "CN", "Lenovo": "CN", "TSMC": "TW", "Samsung": "KR",
}

ROLE_PRIORITY = ("intern", "contractor", "former_employee", "employee")


@dataclass(frozen=True)
class Entity:
    """One mention: what it is, its canonical name, and where it was found."""

    kind: str
    name: str
    surface: str
    start: int
    end: int
    value: str | None = None
    label: str | None = None
    status: str = "fact"
    sentence: str | None = None


class Aliases:
    """Alias tables for organisations and courts, matched fast in any language.

    Latin aliases match whole words (capitalised in the text); CJK aliases
    match as substrings, longest first.
    """

    def __init__(self, table: dict[str, dict[str, list[str]]]):
        self.canonical: dict[str, dict[str, str]] = {}
        self.cjk: dict[str, re.Pattern | None] = {}
        self.latin: dict[str, Scanner | None] = {}
        for kind, entries in table.items():
            names = {}
            for canonical, aliases in entries.items():
                for alias in [canonical, *aliases]:
                    if meaningful(alias):
                        names[_fold(alias)] = canonical
            self.canonical[kind] = names
            cjk = sorted((a for a in names if _CJK.match(a)), key=len, reverse=True)
            self.cjk[kind] = re.compile("|".join(map(re.escape, cjk))) if cjk else None
            latin = sorted((a for a in names if not _CJK.match(a)), key=len, reverse=True)
            alternatives = "|".join(r"\s+".join(map(re.escape, a.split())) for a in latin)
            # whole words only, as _WORD splits them: "Amazon.com" is one word, "Meta" in "Metadata" none
            self.latin[kind] = Scanner(re.compile(
                rf"(?<![A-Za-z0-9])(?<![A-Za-z0-9][.&'-])(?:{alternatives})(?![A-Za-z0-9]|[.&'-][A-Za-z0-9])",
                re.I)) if latin else None

    def lookup(self, kind: str, name: str) -> str | None:
        return self.canonical.get(kind, {}).get(_fold(name))

    def find(self, kind: str, text: str):
        """(start, end, surface, canonical) of every alias of `kind` in `text`."""
        names = self.canonical[kind]
        if self.cjk[kind] is not None and _CJK.search(text):
            for m in self.cjk[kind].finditer(text):
                yield m.start(), m.end(), m.group(0), names[m.group(0)]
        if self.latin[kind] is not None:
            for m in self.latin[kind].finditer(text):
                if m.group(0)[0].isupper():  # names are capitalised: "apple" is fruit
                    yield m.start(), m.end(), m.group(0), names[_fold(m.group(0))]


_CJK = re.compile(f"[{HAN}]")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[.&'-][A-Za-z0-9]+)*")


def _alternatives(named: list[tuple[str, str]], flags: int = 0) -> re.Pattern:
    """One pattern of named alternatives, led by a look-ahead for their possible first characters:
    the regex engine then skips most positions with one test instead of trying every branch."""
    firsts: set[str] = set()
    for _, rx in named:
        for branch in rx.split("|"):
            branch = re.sub(r"^(?:\\b|\(\?:)+", "", branch)
            if not branch or not (branch[0].isalnum() or _CJK.match(branch[0])) or branch[1:2] in ("?", "*", "{"):
                firsts = set()
                break
            firsts |= {branch[0].lower(), branch[0].upper()} if flags & re.I else {branch[0]}
        else:
            continue
        break
    body = "|".join(f"(?P<{name}>{rx})" for name, rx in named)
    lead = f"(?=[{''.join(sorted(firsts))}])" if firsts else ""
    return re.compile(f"{lead}(?:{body})", flags)


def _lower(text: str) -> str:
    """Lower-cased text with the same length, so match offsets stay valid."""
    low = text.lower()
    return low if len(low) == len(text) else "".join(c.lower()[:1] or c for c in text)


def _fold(name: str) -> str:
    return " ".join(name.lower().split())


def meaningful(name: str | None) -> bool:
    """Whether a name has a letter, digit or CJK character (not empty, blank or only punctuation)."""
    return bool(name and re.search(r"\w", name))


DEFAULT_ALIASES = Aliases(SEED_ALIASES)


def document_text(title: str | None, text: str | None) -> str:
    """The string that entity spans index into."""
    return f"{title or ''}\n\n{text or ''}"


def extract(title: str | None, text: str | None, aliases: Aliases = DEFAULT_ALIASES,
            published: str | None = None) -> list[Entity]:
    """All entities and facts of a document, ordered by position."""
    full = document_text(title, text)
    found = (
        organisations(full, aliases) + people(full) + roles(full) + courts(full, aliases)
        + case_numbers(full) + statutes(full) + money(full) + dates(full, published)
        + incident_types(full)
    )
    sentences = Sentences(full)
    return sorted((with_status(sentences, e) for e in found), key=lambda e: (e.start, e.kind))


# --- claims vs facts ----------------------------------------------------------

STATUSES = ("fact", "claim", "denied", "hypothetical", "rumour")
_STATUS_RULES = [  # strongest first: a rumour the text calls exaggerated is denied
    ("denied", r"严重夸大|夸大|不实|否认|辟谣|并非事实|\bdenie[sd]\b|\bdeny\b|\bexaggerated\b|\buntrue\b|"
               r"\bnot true\b|\bfalse(?:ly)?\b"),
    ("rumour", r"传言|传闻|网传|据传|谣言|\brumou?rs?\b|\bunconfirmed\b|\bspeculat"),
    ("hypothetical", r"如果|假如|倘若|若(?!干)|一旦|可能|或将|\bif\b|\bcould\b|\bwould\b|\bmight\b|"
                     r"\bmay (?:face|be|have|lose|cost|not|result)\b|\bfaces? up to\b|\bpotential(?:ly)?\b|\bpossible\b"),
    ("claim", r"涉嫌|据称|声称|指控|\ballege[sd]?\b|\ballegedly\b|\baccus(?:ed|es|ing)\b|\bpurportedly\b|"
              r"\bsuspected\b"),
]
_STATUS_RE = Scanner(_alternatives(_STATUS_RULES, re.I))
_STATUS_RANK = {status: rank for rank, (status, _) in enumerate(_STATUS_RULES)}
_PAST_EMPLOYER = Scanner(re.compile(
    r"(?:formerly (?:worked|employed) (?:at|by|for)|previously (?:worked|employed) (?:at|by|for)|used to work (?:at|for)|"
    r"had (?:previously )?worked (?:at|for)|former employer,?|曾在|曾于|曾就职于|曾任职于|此前在|先后在|"
    r"自\d{4}年起，?[他她]?在)(?:[^，。,.;；]{0,12}?(?:和|、|及|and|,)\s*)?\s*$", re.I))


class Sentences:
    """Sentence bounds of one text, found once; each sentence's status computed once."""

    def __init__(self, text: str):
        self.text = text
        self.ends = [m.start() + 1 for m in _SENTENCE_END.finditer(text)]
        self._status: dict[int, str] = {}

    def bounds(self, start: int) -> tuple[int, int, int]:
        """(index, start, end) of the sentence holding position `start`."""
        i = bisect.bisect_right(self.ends, start)
        return i, self.ends[i - 1] if i else 0, self.ends[i] if i < len(self.ends) else len(self.text)

    def status(self, i: int, sentence: str) -> str:
        if i not in self._status:
            found = {m.lastgroup for m in _STATUS_RE.finditer(sentence)}  # one pass; the strongest wins
            self._status[i] = min(found, key=_STATUS_RANK.get) if found else "fact"
        return self._status[i]


def with_status(sentences: Sentences, e: Entity) -> Entity:
    """The entity with its sentence and whether that sentence states it as fact or not.

    Organisations named as a past employer ("formerly worked at", 曾在/自2019年起在) get
    the label 'past_employer': they are not parties."""
    i, a, b = sentences.bounds(e.start)
    sentence = sentences.text[a:b].strip()
    label = e.label
    if e.kind == "organisation" and _PAST_EMPLOYER.search(sentences.text[a:e.start]):
        label = "past_employer"
    return Entity(e.kind, e.name, e.surface, e.start, e.end, e.value, label, sentences.status(i, sentence),
                  sentence[:500])


# --- organisations and people -------------------------------------------------

_ORG_SUFFIX = (r"(?:Inc|Incorporated|Corp|Corporation|LLC|Ltd|Limited|PLC|Company|Group|Bank|"
               r"Hospital|University|College|Technologies|Systems|Labs|Laboratories|Health System|"
               r"Healthcare|Medical Center|Health|Clinic|Credit Union|Insurance|Council|Authority|"
               r"Agency|Police Department|School District)")
_ORG_GENERIC = re.compile(
    rf"\b(?:[A-Z][A-Za-z0-9&'-]+\s+(?:of\s+|and\s+|&\s+)?){{1,5}}{_ORG_SUFFIX}\b\.?"
    r"|\b(?:U\.S\.\s+|United States\s+)?(?:Department|University|Bank|City|County) of"
    r"(?:\s+(?:the\s+)?[A-Z][a-z]+){1,3}"
)
_ORG_STOP = {"The", "A", "An", "In", "On", "At", "For", "By", "Former", "When", "After", "This", "Our"}
_ORG_TRAILER = re.compile(r",?\s+(?:Inc|Corp|LLC|Ltd|PLC|Co)\.?$")


def organisations(text: str, aliases: Aliases = DEFAULT_ALIASES) -> list[Entity]:
    """Known organisations (alias table) plus English names ending in Inc., Bank, Hospital..."""
    out = [Entity("organisation", canon, s, a, b) for a, b, s, canon in aliases.find("organisation", text)]
    taken = [(e.start, e.end) for e in out]
    for m in _ORG_GENERIC.finditer(text):
        start, surface = m.start(), m.group(0).rstrip(".")
        words = surface.split()
        while words and words[0] in _ORG_STOP:
            start += len(words[0]) + 1
            words = words[1:]
        if len(words) < 2 or any(a < m.end() and start < b for a, b in taken):
            continue
        surface = " ".join(words)
        name = _ORG_TRAILER.sub("", surface)
        out.append(Entity("organisation", aliases.lookup("organisation", name) or name,
                          surface, start, start + len(surface)))
    return out


_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
             "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
             "戴莫孔向汤")
_ZH_PERSON = re.compile(rf"[{_SURNAMES}](?:某某?|[XＸ×*＊]{{1,2}}(?![A-Za-z]))")  # 田某某, 田某, 田X, 田**
_EN_PERSON_ROLE = (r"(?:(?:United States|U\.S\.|USA|People)\s+v\.?\s+"
                   r"|\b(?:engineer|employee|intern|contractor|defendant|insider|worker|administrator|developer|"
                   r"scientist|researcher|technician|manager|analyst|clerk|nurse)\s+)"
                   r"(?P<name>[A-Z][a-z]+(?: [A-Z]\.)?(?: [A-Z][a-z]+){1,2})")
_EN_PERSON_NAMED = (r"\b(?:named|surnamed|identified (?:\w+ ){0,4}as|Insider:|defendant,|employee,|engineer,)\s+"
                    r"(?P<name>[A-Z][a-z]+(?: [A-Z]\.)?(?: [A-Z][a-z]+){0,2})\b")
# (pattern, its first alternative alone, what every match of its second alternative holds): in a
# text without the latter, the first alternative alone finds the same matches, much faster
_EN_PEOPLE = [
    (re.compile(_EN_PERSON_ROLE + r"|\b(?P<aged>[A-Z][a-z]+(?: [A-Z]\.)? [A-Z][a-z]+),\s(?:a\s)?\d{2},"),
     Scanner(re.compile(_EN_PERSON_ROLE)), re.compile(r",\s(?:a\s)?\d{2},")),
    (re.compile(_EN_PERSON_NAMED + r"|\b(?P<appos>[A-Z][a-z]+(?: [A-Z]\.)?(?: [A-Z][a-z]+)?),\s(?:a|an|the)\s"
                r"(?:former\s)?(?:[\w-]+\s){0,4}?"
                r"(?:engineer|employee|intern|contractor|programmer|developer|scientist|administrator|executive|analyst)\b"),
     Scanner(re.compile(_EN_PERSON_NAMED)), re.compile(r",\s(?:a|an|the)\s")),
]
_NOT_NAMES = {"The", "This", "That", "Chinese", "American", "Former", "Federal", "Police", "Court", "Media"}
_PINYIN = dict(zip(_SURNAMES, (
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang xie song "
    "tang xu han feng deng cao peng zeng xiao tian dong yuan pan yu jiang cai yu du ye cheng su wei lv ding ren "
    "shen yao lu jiang cui zhong tan lu wang fan jin shi liao jia xia wei fu fang bai zou meng xiong qin qiu "
    "jiang yin xue yan duan lei hou long shi tao li he gu mao hao gong shao wan qian yan qin wu dai mo kong "
    "xiang tang").split()))
_PINYIN_SURNAMES = set(_PINYIN.values())


def people(text: str) -> list[Entity]:
    """Named insiders: anonymised Chinese names (田某某) as given, English names in context.

    Each person also yields a 'surname' entity (romanised, lower case: 田某某 and Tian are both
    'tian'), so names in two scripts and names with a masked given name still meet."""
    found = [(m.start(), m.end(), m.group(0)) for m in _ZH_PERSON.finditer(text)] if _CJK.search(text) else []
    for rx, first, second_needs in _EN_PEOPLE:
        for m in (rx if second_needs.search(text) else first).finditer(text):
            group = next(g for g in ("name", "aged", "appos") if g in m.groupdict() and m.group(g))
            if m.group(group).split()[0] not in _NOT_NAMES:
                found.append((m.start(group), m.end(group), m.group(group)))
    out, taken = [], []
    for a, b, name in sorted(found):
        if any(x < b and a < y for x, y in taken):
            continue
        taken.append((a, b))
        out.append(Entity("person", name, name, a, b))
        out += [Entity("surname", key, name, a, b) for key in surnames(name)]
    return out


def surnames(name: str) -> set[str]:
    """Romanised surname keys of a person's name: '田某某' → {'tian'}, 'Paige A. Thompson' → {'thompson'},
    'Han Bing' → {'han', 'bing'}; a CJK full name keeps its first character's romanisation."""
    name = re.sub(r"[(（].*?[)）]", " ", name).strip()
    if _CJK.match(name):
        return {_PINYIN[name[0]]} if name[0] in _PINYIN else set()
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", name) if len(w) > 1 and w not in ("Mr", "Ms", "Mrs", "Dr")]
    if not words:
        return set()
    keys = {words[-1]}
    if len(words) == 2 and words[0] in _PINYIN_SURNAMES:  # Chinese order: Tian Keyu
        keys.add(words[0])
    return keys


_ROLES = [
    ("intern", r"实习生|实习员工|实习|\binterns?\b|\binternship\b"),
    ("contractor", r"外包|承包商|第三方人员|\bcontractors?\b|\bconsultants?\b|\bsubcontractors?\b"),
    ("former_employee", r"前员工|离职员工|已离职|离职|\bformer (?:[\w.&-]+ ){0,2}(?:employee|engineer|worker|"
                        r"staff|developer|manager|administrator|scientist|researcher)s?\b|\bex-employees?\b"),
    ("employee", r"员工|职员|工程师|\bemployees?\b|\bengineers?\b|\bstaff(?:er)?\b|\bworkers?\b"),
]
_ROLE_RE = Scanner(_alternatives(_ROLES))


def roles(text: str) -> list[Entity]:
    """Insider roles: intern, contractor, former employee, employee."""
    return [Entity("role", m.lastgroup, text[m.start():m.end()], m.start(), m.end(), value=m.lastgroup)
            for m in _ROLE_RE.finditer(_lower(text))]


def insider_role(entities: list[Entity]) -> str | None:
    """The most specific role mentioned (an intern is also 'staff')."""
    found = {e.name for e in entities if e.kind == "role"}
    return next((r for r in ROLE_PRIORITY if r in found), None)


# --- courts, case numbers, statutes -------------------------------------------

_ZH_PLACES = ("北京|上海|天津|重庆|广东|广州|深圳|浙江|杭州|江苏|南京|苏州|四川|成都|湖北|武汉|湖南|长沙|山东|济南|青岛|"
              "福建|厦门|福州|河南|郑州|河北|石家庄|陕西|西安|安徽|合肥|辽宁|沈阳|大连|黑龙江|哈尔滨|吉林|长春|江西|南昌|"
              "云南|昆明|贵州|贵阳|广西|南宁|山西|太原|内蒙古|海南|海口|新疆|甘肃|兰州|宁夏|青海|西藏|珠海|东莞|佛山|无锡|宁波")
_ZH_COURT = re.compile(
    rf"(?:{_ZH_PLACES})(?:省|市|自治区)?(?:[{HAN}]{{1,4}}?(?:市|区|县))?"
    r"(?:中级|高级)?(?:人民法院|知识产权法院|互联网法院|法院)"
    r"|最高人民法院|[" + HAN + r"]{2}(?:区|县)人民法院"
)
_US_STATES = ("Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|"
              "Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|"
              "Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|"
              "New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|"
              "Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|"
              "West Virginia|Wisconsin|Wyoming|Columbia|Puerto Rico")
_US_DISTRICT = re.compile(
    r"(?:(?:U\.S\.|United States|US|Federal)\s+District\s+Court\s+(?:for\s+)?(?:the\s+)?)?"
    rf"\b(?:(?P<dir>Northern|Southern|Eastern|Western|Central|Middle)\s+)?District\s+of\s+(?P<state>{_US_STATES})\b"
)
_US_ABBR = re.compile(r"\b(?P<dir>[NSEWCM])\.\s?D\.\s?(?P<state>Cal|N\.\s?Y|Tex|Ill|Mass|Va|Pa|Wash|Ga|Fla|Mich|Ohio|N\.\s?J|Utah)\.?")
_ABBR_STATES = {"Cal": "California", "N.Y": "New York", "Tex": "Texas", "Ill": "Illinois",
                "Mass": "Massachusetts", "Va": "Virginia", "Pa": "Pennsylvania", "Wash": "Washington",
                "Ga": "Georgia", "Fla": "Florida", "Mich": "Michigan", "Ohio": "Ohio", "N.J": "New Jersey",
                "Utah": "Utah"}
_DIRS = {"N": "Northern", "S": "Southern", "E": "Eastern", "W": "Western", "C": "Central", "M": "Middle"}
_US_OTHER_COURT = Scanner(re.compile(
    r"\b(?:U\.S\.\s+)?Court of Appeals for the (?:\w+|District of Columbia|Federal) Circuit"
    r"|\b(?:[A-Z][a-z]+\s+){1,2}(?:Superior|Circuit|Crown|Magistrates'?|County) Court\b"
), needs=("Court of Appeals", "Superior Court", "Circuit Court", "Crown Court", "Magistrates Court",
          "Magistrates' Court", "County Court"))


def courts(text: str, aliases: Aliases = DEFAULT_ALIASES) -> list[Entity]:
    """Chinese people's courts, US district courts (any spelling) and other named courts."""
    out = [Entity("court", canon, s, a, b) for a, b, s, canon in aliases.find("court", text)]
    taken = [(e.start, e.end) for e in out]

    def add(start: int, end: int, surface: str, name: str) -> None:
        if not any(a < end and start < b for a, b in taken):
            out.append(Entity("court", name, surface, start, end))
            taken.append((start, end))

    for m in _ZH_COURT.finditer(text) if _CJK.search(text) else ():
        add(m.start(), m.end(), m.group(0), aliases.lookup("court", m.group(0)) or m.group(0))
    for m in _US_DISTRICT.finditer(text) if "District" in text else ():
        name = f"U.S. District Court for the {m.group('dir') + ' ' if m.group('dir') else ''}District of {m.group('state')}"
        add(m.start(), m.end(), m.group(0), name)
    for m in _US_ABBR.finditer(text) if "D." in text else ():
        state = _ABBR_STATES[re.sub(r"\s", "", m.group("state"))]
        add(m.start(), m.end(), m.group(0), f"U.S. District Court for the {_DIRS[m.group('dir')]} District of {state}")
    for m in _US_OTHER_COURT.finditer(text):
        add(m.start(), m.end(), m.group(0), aliases.lookup("court", m.group(0)) or m.group(0))
    return out


_US_DOCKET = Scanner(re.compile(r"\b(?:\d{1,2}:)?\d{2}-(?P<t>cv|cr|mj|md|mc)-\d{3,6}(?:-[A-Z]{2,5})*\b", re.I),
                     needs=("-cv-", "-cr-", "-mj-", "-md-", "-mc-"))
_ZH_CASE = Scanner(re.compile(r"[（(]\d{4}[)）][" + HAN + r"]{1,3}\d{0,6}[" + HAN + r"]{1,4}\d+号"), needs=("号",))


def normalise_case_number(value: str) -> str:
    """One spelling per case, for joining records of it: the first case number in `value` (else the
    value itself), full-width brackets, spaces and judge initials removed, US dockets lower-cased with
    the office number kept and the serial padded ('1:19-CR-123-ABC' -> '1:19-cr-00123')."""
    found = case_numbers(value)
    value = (found[0].name if found else value).strip().replace("（", "(").replace("）", ")").replace(" ", "")
    m = re.fullmatch(r"(?:(\d{1,2}):)?(\d{2})-([a-z]{2})-(\d{3,6})(?:-[A-Za-z]{2,5})*", value, re.I)
    if m:
        office = f"{m.group(1)}:" if m.group(1) else ""
        return f"{office}{m.group(2)}-{m.group(3).lower()}-{int(m.group(4)):05d}"
    return value


def case_numbers(text: str) -> list[Entity]:
    """US docket numbers (3:23-cv-04557) and Chinese case numbers ((2024)京0108民初12345号)."""
    out = []
    for m in _US_DOCKET.finditer(text):
        kind = "criminal" if m.group("t").lower() in ("cr", "mj") else "civil"
        out.append(Entity("case_number", m.group(0).lower(), m.group(0), m.start(), m.end(), value=kind))
    for m in _ZH_CASE.finditer(text):
        name = m.group(0).replace("（", "(").replace("）", ")")
        kind = "criminal" if "刑" in name else "civil" if "民" in name else None
        out.append(Entity("case_number", name, m.group(0), m.start(), m.end(), value=kind))
    return out


_ZH_CRIMES = {
    "破坏计算机信息系统罪": "286", "非法获取计算机信息系统数据罪": "285", "非法侵入计算机信息系统罪": "285",
    "非法控制计算机信息系统罪": "285", "侵犯商业秘密罪": "219", "侵犯公民个人信息罪": "253-1",
    "职务侵占罪": "271", "故意毁坏财物罪": "275", "毁坏财物罪": "275", "破坏生产经营罪": "276",
    "挪用资金罪": "272", "非国家工作人员受贿罪": "163", "诈骗罪": "266", "盗窃罪": "264",
    "侵权责任纠纷": None, "侵害商业秘密纠纷": None, "劳动争议": None,
}
_ZH_CRIME_RE = re.compile("|".join(sorted(map(re.escape, _ZH_CRIMES), key=len, reverse=True)))
_USC = re.compile(r"\b(?P<title>\d{1,2})\s*U\.?\s?S\.?\s?C\.?\s*(?:§+|[Ss]ections?|[Ss]ec\.)?\s*(?P<sec>\d{2,5}[a-z]?)")
_ACTS = {
    "Computer Fraud and Abuse Act": "18 U.S.C. § 1030",
    "Defend Trade Secrets Act": "18 U.S.C. § 1836",
    "Economic Espionage Act": "18 U.S.C. § 1832",
}
_ACT_RE = Scanner(re.compile("|".join(map(re.escape, _ACTS)) + r"|\b(?P<abbr>CFAA|DTSA)\b"))


def statutes(text: str) -> list[Entity]:
    """US Code sections, the CFAA/DTSA/EEA by name, Chinese crimes and causes of action."""
    out = [Entity("statute", f"{m.group('title')} U.S.C. § {m.group('sec')}", m.group(0), m.start(), m.end())
           for m in _USC.finditer(text)]
    for m in _ACT_RE.finditer(text):
        key = {"CFAA": "Computer Fraud and Abuse Act", "DTSA": "Defend Trade Secrets Act"}.get(m.group(0), m.group(0))
        out.append(Entity("statute", _ACTS[key], m.group(0), m.start(), m.end(), value=key))
    for m in _ZH_CRIME_RE.finditer(text):
        article = _ZH_CRIMES[m.group(0)]
        out.append(Entity("statute", m.group(0), m.group(0), m.start(), m.end(),
                          value=f"PRC Criminal Law art. {article}" if article else "cause of action"))
    return out


# --- money --------------------------------------------------------------------

_ZH_UNITS = {"千万": 1e7, "百万": 1e6, "十万": 1e5, "万": 1e4, "亿": 1e8, None: 1}
_ZH_CURRENCY = {"元": "CNY", "人民币": "CNY", "美元": "USD", "美金": "USD", "港元": "HKD", "港币": "HKD",
                "欧元": "EUR", "英镑": "GBP", "日元": "JPY"}
_ZH_MONEY = re.compile(r"(?P<q>上|近|超过|超|逾|约|数)?(?P<n>\d+(?:\.\d+)?)?多?(?P<u>千万|百万|十万|万|亿)?"
                       r"(?P<c>美元|美金|港元|港币|欧元|英镑|日元|元)")
_EN_MULT = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, None: 1}
_EN_CUR = {"$": "USD", "us$": "USD", "usd": "USD", "dollars": "USD", "€": "EUR", "eur": "EUR", "euros": "EUR",
           "£": "GBP", "gbp": "GBP", "pounds": "GBP", "cny": "CNY", "rmb": "CNY", "yuan": "CNY",
           "renminbi": "CNY", "¥": "CNY", "hk$": "HKD"}
_NUM = r"(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_EN_MONEY_PRE = Scanner(re.compile(
    rf"(?P<c>US\$|HK\$|\$|€|£|¥|\bUSD|\bEUR|\bGBP|\bCNY|\bRMB)\s?{_NUM}(?:\s?(?P<m>million|billion|thousand|mn|bn|m|k)\b)?", re.I))
_EN_MONEY_POST = Scanner(re.compile(
    rf"\b{_NUM}\s?(?P<m>million|billion|thousand)?\s(?P<c>dollars|yuan|euros|pounds|renminbi|RMB|CNY|USD|EUR)\b", re.I),
    needs=("dollars", "yuan", "euros", "pounds", "renminbi", "RMB", "CNY", "USD", "EUR"))
_MONEY_LABELS = [  # checked in order; 'costs' must sit right before/after the amount
    ("costs", r"合理支出|律师费|诉讼费|费用|\bcosts\b|\bexpenses\b|legal fees", 10),
    ("claim", r"索赔|赔偿|判令|请求|诉请|\bclaims?\b|\bseek(?:s|ing)?\b|sued .{0,20}for|\bdamages\b|compensation", 40),
    ("fine", r"罚金|罚款|\bfined?\b|\brestitution\b|\bpenalty\b", 30),
    ("loss", r"损失|\blosses?\b|\bcost (?:the|it|its)\b|\bdamage\b|造成", 30),
]


def money(text: str) -> list[Entity]:
    """Amounts with currency: 800万元 → 8000000 CNY, 上千万美元 → 10000000 USD, $1.2 million."""
    out = []
    for m in _ZH_MONEY.finditer(text) if _CJK.search(text) else ():
        if not m.group("n") and not m.group("u"):
            continue
        amount = float(m.group("n") or 1) * _ZH_UNITS[m.group("u")]
        out.append(_money(text, m, amount, _ZH_CURRENCY[m.group("c")]))
    for rx in (_EN_MONEY_PRE, _EN_MONEY_POST):
        for m in rx.finditer(text):
            mult = _EN_MULT[(m.group("m") or "").lower() or None]
            amount = float(m.group("n").replace(",", "")) * mult
            out.append(_money(text, m, amount, _EN_CUR[m.group("c").lower()]))
    return out


def _money(text: str, m: re.Match, amount: float, currency: str) -> Entity:
    value = f"{amount:.0f} {currency}" if amount == int(amount) else f"{amount:.2f} {currency}"
    return Entity("money", value, m.group(0), m.start(), m.end(), value=value, label=_money_label(text, m))


def _money_label(text: str, m: re.Match) -> str | None:
    before = _clause_before(text, m.start(), 40)
    after = text[m.end():m.end() + 15]
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
_SENTENCE_END = re.compile(r"[。！？；\n]|\.\s")


def dates(text: str, published: str | None = None) -> list[Entity]:
    """Dates and month ranges as ISO values, labelled by what the sentence says happened."""
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
    ends = [m.end() for m in _SENTENCE_END.finditer(text)] if spans else []
    return [Entity("date", v, text[a:b], a, b, value=v, label=_date_label(text, a, b, ends)) for a, b, v in spans]


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


def _date_label(text: str, start: int, end: int, ends: list[int]) -> str | None:
    """`ends`: where each match of _SENTENCE_END in `text` ends."""
    i = bisect.bisect_right(ends, start)  # the sentence starts where the last end at or before `start` is
    sentence_start = ends[i - 1] if i else 0
    stop = _SENTENCE_END.search(text, end)
    after = text[end:stop.start() if stop else len(text)]
    before = text[sentence_start:start]
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
_TYPE_RE = Scanner(_alternatives(list(_TYPES.items())))
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
    hits = list(_TYPE_RE.finditer(_lower(text)))
    if not hits:
        return []
    best = Counter(m.lastgroup for m in hits).most_common(1)[0][0]
    first = next(m for m in hits if m.lastgroup == best)
    subtype = next((s for t, s, rx in _SUBTYPE_RES if t == best and rx.search(text)), None)
    return [Entity("incident_type", best, text[first.start():first.end()], first.start(), first.end(),
                   value=subtype)]


# --- storage ------------------------------------------------------------------

def seed_aliases(db: sqlite_utils.Database) -> None:
    """Load `SEED_ALIASES` into the alias tables once per seed version (user rows stay)."""
    if get_setting(db, "entity_aliases_seed") == SEED_VERSION:
        return
    for kind, entries in SEED_ALIASES.items():
        for canonical, aliases in entries.items():
            for alias in [canonical, *aliases]:
                add_alias(db, kind, canonical, alias)
    set_setting(db, "entity_aliases_seed", SEED_VERSION)


def add_alias(db: sqlite_utils.Database, kind: str, canonical: str, alias: str) -> None:
    """Record that `alias` names the `kind` entity `canonical`."""
    for name in (canonical, alias):
        if not meaningful(name):
            raise KBError(f"{kind} name {name!r} is empty or has no letters: give a real name")
    canonical, alias = canonical.strip(), alias.strip()
    entity_id = entity_row(db, kind, canonical)
    language = "zh" if _CJK.search(alias) else "en"
    db.execute("INSERT OR IGNORE INTO entity_aliases (alias, entity_id, language) VALUES (?, ?, ?)",
               [alias, entity_id, language])


def load_aliases(db: sqlite_utils.Database) -> Aliases:
    """The alias tables as stored (seeded on first use)."""
    seed_aliases(db)
    table: dict[str, dict[str, list[str]]] = {"organisation": {}, "court": {}}
    rows = db.execute(
        "SELECT e.kind, e.name, a.alias FROM entity_aliases a JOIN entities e ON e.id = a.entity_id "
        "WHERE e.kind IN ('organisation', 'court')")
    for kind, name, alias in rows:
        table[kind].setdefault(name, []).append(alias)
    return Aliases(table)


def entity_row(db: sqlite_utils.Database, kind: str, name: str, cache: dict | None = None) -> int:
    """The id of entity (kind, name), created when new."""
    key = (kind, name)
    if cache is not None and key in cache:
        return cache[key]
    db.execute("INSERT OR IGNORE INTO entities (kind, name) VALUES (?, ?)", [kind, name])
    entity_id = db.execute("SELECT id FROM entities WHERE kind = ? AND name = ?", [kind, name]).fetchone()[0]
    if cache is not None:
        cache[key] = entity_id
    return entity_id


def save_entities(db: sqlite_utils.Database, found: dict[int, list[Entity]], cache: dict | None = None) -> None:
    """Replace the stored entities of these documents ({document id: its entities})."""
    doc_ids = list(found)
    db.execute("DELETE FROM document_entities WHERE document_id IN (SELECT value FROM json_each(?))",
               [json.dumps(doc_ids)])
    db.conn.executemany(
        "INSERT INTO document_entities (document_id, entity_id, span_start, span_end, surface, value, label, "
        "status, sentence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(doc_id, entity_row(db, e.kind, e.name, cache), e.start, e.end, e.surface, e.value, e.label,
          e.status, e.sentence) for doc_id, entities in found.items() for e in entities],
    )
