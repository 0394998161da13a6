"""Who and where: organisations, people (and their surnames), insider roles, courts and case numbers.

Each function reads a whole text (title, blank line, body) and returns `Entity`
mentions with their spans; kb.extract.entities adds sentences and statuses.
"""

from __future__ import annotations

import re

from ..text.scan import Scanner, alternatives, lowered
from ..text.scripts import HAN, HAN_CHAR
from .aliases import DEFAULT_ALIASES, Aliases
from .entity import Entity

ROLE_PRIORITY = ("intern", "contractor", "former_employee", "employee")


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
    found = [(m.start(), m.end(), m.group(0)) for m in _ZH_PERSON.finditer(text)] if HAN_CHAR.search(text) else []
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
    if HAN_CHAR.match(name):
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
_ROLE_RE = Scanner(alternatives(_ROLES))


def roles(text: str) -> list[Entity]:
    """Insider roles: intern, contractor, former employee, employee."""
    return [Entity("role", m.lastgroup, text[m.start():m.end()], m.start(), m.end(), value=m.lastgroup)
            for m in _ROLE_RE.finditer(lowered(text))]


def insider_role(entities: list[Entity]) -> str | None:
    """The most specific role mentioned (an intern is also 'staff')."""
    found = {e.name for e in entities if e.kind == "role"}
    return next((r for r in ROLE_PRIORITY if r in found), None)


# --- courts and case numbers -------------------------------------------

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

    for m in _ZH_COURT.finditer(text) if HAN_CHAR.search(text) else ():
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
