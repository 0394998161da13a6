"""Is a text a Chinese court record (a judgment, a ruling, a court announcement), and what does it name?

`recognise_court_record(text)` gives its case number, court, parties, cause and
judgment, or None for anything else (news, blogs); `kb add` turns a saved China
Judgments Online page into a court document with it.
"""

from __future__ import annotations

import re

from ..text.scan import Scanner
from ..text.scripts import HAN, has_han
from .legal import facts
from .legal_zh import CRIME
from .names import case_numbers, courts, normalise_case_number

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
    if not has_han(text):
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
    for m in CRIME.finditer(text):
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
