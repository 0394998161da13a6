"""Legal facts stated by one Chinese sentence: 拘留/逮捕, 涉嫌…罪 and 犯…罪, 认罪, 判决,
有期徒刑/缓刑/罚金 with their terms and amounts, 和解, 索赔 and 判令赔偿.

`sentence_facts(sentence)` returns LegalFact fields (kb.extract.legal) as dicts.
"""

from __future__ import annotations

import re

from ..text.numbers import ZH_NUM, money, zh_number
from ..text.scan import Scanner
from ..text.scripts import HAN

_ZH_TERM = rf"(?P<y>{ZH_NUM})年(?:零?(?P<m>{ZH_NUM})个月)?|(?P<mo>{ZH_NUM})个月"
_ZH_PENALTY = Scanner(re.compile(
    rf"(?P<kind>有期徒刑|拘役|管制|缓刑|剥夺政治权利)(?:{_ZH_TERM})|(?P<life>无期徒刑|死刑)"
    rf"|(?P<money>罚金|罚款|退赔|赔偿|违法所得)(?:人民币)?(?P<amt>(?:\d+(?:\.\d+)?|{ZH_NUM})(?:千万|百万|十万|万|亿)?(?:美元|港元|元))"))
_ZH_KIND = {"有期徒刑": "incarceration", "拘役": "incarceration", "管制": "probation", "缓刑": "probation",
            "剥夺政治权利": "deprivation_of_political_rights", "罚金": "fine", "罚款": "fine",
            "退赔": "restitution", "赔偿": "restitution", "违法所得": "forfeiture"}
_ZH_SENTENCED = re.compile(r"判处|判决|被判|判刑|决定执行|宣告缓刑|处罚金|并处")
_ZH_MAXIMUM = re.compile(r"最高(?:可)?(?:判处|处)|可能(?:被)?判处|可(?:以)?判处|可处|将面临|面临|处.{0,10}以下")
CRIME = Scanner(re.compile(r"(?P<pre>涉嫌犯?|涉犯嫌犯|(?<!侵)犯有?|以|构成|因犯|认定.{0,6}犯)(?P<crime>[" + HAN + r"、，]{2,24}?罪)(?!犯|行|名|证)"))
_ZH_ARREST = re.compile(r"刑事拘留|被抓获|抓获归案|被(?:依法)?逮捕|批准逮捕|决定逮捕|被(?:公安机关|民警)?(?:当场)?抓获|"
                        r"被(?:依法)?拘留|投案|传唤归案|被羁押|执行逮捕")
# 以…罪 names the charge of a prosecution as well as the crime of a verdict: "以涉嫌…罪提起公诉".
_ZH_PROSECUTED = re.compile(r"提起公诉|公诉|起诉|批准逮捕|立案侦查|指控|移送审查")
_ZH_PLEA = re.compile(r"认罪认罚|当庭认罪|自愿认罪|表示认罪|认罪悔罪|承认指控")
_ZH_CLAIM = re.compile(r"索赔|诉请|请求(?:法院)?[，,]?\s*判令|要求(?:其|被告)?赔偿|诉讼请求|起诉要求")
_ZH_HYPOTHETICAL = re.compile(r"如果|假如|若是|一旦|可能|或将|或许")
_ZH_AWARD = re.compile(r"判令|判决.{0,12}赔偿|法院.{0,10}(?:支持|判).{0,12}赔偿")
_ZH_SETTLE = re.compile(r"和解|调解结案|达成调解|调解协议")


def _charge_status(pre: str, crime: str, sent: str) -> str:
    """alleged (涉嫌…罪, or 以…罪 in a prosecution that passes no sentence) or convicted (犯…罪, 以…罪 判处)."""
    suspected = "涉" in pre or "涉" in crime
    prosecuted = pre == "以" and _ZH_PROSECUTED.search(sent) and not _ZH_SENTENCED.search(sent)
    return "alleged" if suspected or prosecuted else "convicted"


def sentence_facts(sent: str) -> list[dict]:
    """The legal facts a Chinese sentence states, as LegalFact fields."""
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
                [amount] = money(m.group("amt"))
                out.append({"kind": "sentence", "status": status, "sentence_type": _ZH_KIND[m.group("money")],
                            "amount": amount.amount, "currency": amount.currency})
            else:
                years = zh_number(m.group("y")) if m.group("y") else 0
                months = zh_number(m.group("m") or m.group("mo") or "0")
                quantity, unit = (years, "year") if not months else (years * 12 + months, "month")
                out.append({"kind": "sentence", "status": status, "sentence_type": _ZH_KIND[m.group("kind")],
                            "quantity": quantity, "unit": unit})
    seen = set()
    for m in CRIME.finditer(sent) if not _ZH_HYPOTHETICAL.search(sent) else ():
        crime = re.split(r"[，、]?(?:以|(?<!侵)犯|涉嫌)", m.group("crime"))[-1]
        crime = re.sub(r"^(?:其|了|的|有)", "", crime)
        if len(crime) < 3 or crime in seen or crime in ("犯罪", "罪行") or crime.endswith("的罪"):
            continue
        seen.add(crime)
        out.append({"kind": "charge", "status": _charge_status(m.group("pre"), m.group("crime"), sent),
                    "statute": crime})
    if _ZH_ARREST.search(sent):
        out.append({"kind": "arrest", "status": None})
    if _ZH_PLEA.search(sent):
        out.append({"kind": "plea", "status": "guilty"})
    if re.search(r"宣告无罪|判决.{0,10}无罪", sent):
        out.append({"kind": "verdict", "status": "acquitted"})
    elif re.search(r"(?:判决|本院认为|判处).{0,40}(?:犯|构成)[" + HAN + r"、]{2,20}罪", sent):
        out.append({"kind": "verdict", "status": "convicted"})
    if _ZH_SETTLE.search(sent):
        first = next(iter(money(sent)), None)
        out.append({"kind": "settlement", "status": "agreed", "amount": first.amount if first else None,
                    "currency": first.currency if first else None})
    claim, award = _ZH_CLAIM.search(sent), _ZH_AWARD.search(sent) and not _ZH_CLAIM.search(sent)
    if claim or award:
        for m in money(sent):
            out.append({"kind": "claim", "status": "awarded" if award else "claimed",
                        "amount": m.amount, "currency": m.currency})
    return out
