"""Numbers and amounts of money as English and Chinese texts write them.

    en_number("twenty-one")    -> 21
    zh_number("二十五")         -> 25
    money("索赔800万元")        -> [Money(2, 7, '800万元', 8000000.0, 'CNY')]
    money("$1.2 million")      -> [Money(0, 12, '$1.2 million', 1200000.0, 'USD')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .scan import Scanner
from .scripts import HAN_CHAR

_EN_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_EN_NUMBERS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                    "ninety": 90, "a": 1, "an": 1})
EN_NUM = (r"(?:\d{1,3}|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|"
          r"six|seven|eight|nine))?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
          r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|an?)")
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
ZH_NUM = r"[\d零〇一二两三四五六七八九十百千]+"


def en_number(word: str) -> int:
    """'21', 'twenty-one', 'a' -> 21, 21, 1."""
    word = word.lower().strip()
    if word.isdigit():
        return int(word)
    return sum(_EN_NUMBERS[p] for p in re.split(r"[- ]", word))


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


@dataclass(frozen=True)
class Money:
    """An amount of money found in a text, with where it was found."""

    start: int
    end: int
    surface: str
    amount: float
    currency: str

    @property
    def value(self) -> str:
        """'8000000 CNY', '1.50 USD': the amount as entities store it."""
        whole = self.amount == int(self.amount)
        return f"{self.amount:.0f} {self.currency}" if whole else f"{self.amount:.2f} {self.currency}"


_ZH_UNITS = {"千万": 1e7, "百万": 1e6, "十万": 1e5, "万": 1e4, "亿": 1e8, None: 1}
_ZH_CURRENCY = {"元": "CNY", "美元": "USD", "美金": "USD", "港元": "HKD", "港币": "HKD", "欧元": "EUR",
                "英镑": "GBP", "日元": "JPY"}
# 800万元, 人民币5万元, 上千万美元 (over ten million), 五万元, 3.5亿元
ZH_MONEY = re.compile(rf"(?:上|近|超过|超|逾|约|数)?(?:人民币)?(?P<n>\d+(?:\.\d+)?|{ZH_NUM})?多?"
                      r"(?P<u>千万|百万|十万|万|亿)?(?P<c>美元|美金|港元|港币|欧元|英镑|日元|元)")
_EN_MULT = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, None: 1}
_EN_CURRENCY = {"$": "USD", "us$": "USD", "usd": "USD", "dollars": "USD", "€": "EUR", "eur": "EUR", "euros": "EUR",
                "£": "GBP", "gbp": "GBP", "pounds": "GBP", "cny": "CNY", "rmb": "CNY", "yuan": "CNY",
                "renminbi": "CNY", "¥": "CNY", "hk$": "HKD"}
_NUM = r"(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_EN_BEFORE = Scanner(re.compile(  # $1.2 million, US$50,000, €3m
    rf"(?P<c>US\$|HK\$|\$|€|£|¥|\bUSD|\bEUR|\bGBP|\bCNY|\bRMB)\s?{_NUM}"
    r"(?:\s?(?P<m>million|billion|thousand|mn|bn|m|k)\b)?", re.I))
_EN_AFTER = Scanner(re.compile(  # 5 million dollars, 800,000 yuan
    rf"\b{_NUM}\s?(?P<m>million|billion|thousand)?\s(?P<c>dollars|yuan|euros|pounds|renminbi|RMB|CNY|USD|EUR)\b",
    re.I), needs=("dollars", "yuan", "euros", "pounds", "renminbi", "RMB", "CNY", "USD", "EUR"))


def money(text: str) -> list[Money]:
    """Every amount with a currency in `text`, Chinese first, then English, each in order."""
    out = []
    for m in ZH_MONEY.finditer(text) if HAN_CHAR.search(text) else ():
        if m.group("n") or m.group("u"):
            out.append(_zh(m, text))
    for rx in (_EN_BEFORE, _EN_AFTER):
        for m in rx.finditer(text):
            amount = float(m.group("n").replace(",", "")) * _EN_MULT[(m.group("m") or "").lower() or None]
            out.append(Money(m.start(), m.end(), m.group(0), amount, _EN_CURRENCY[m.group("c").lower()]))
    return out


def _zh(m: re.Match, text: str) -> Money:
    n = m.group("n")
    number = 1.0 if not n else float(n) if re.fullmatch(r"\d+(?:\.\d+)?", n) else float(zh_number(n))
    return Money(m.start(), m.end(), m.group(0), number * _ZH_UNITS[m.group("u")], _ZH_CURRENCY[m.group("c")])


def format_amount(amount: float | None, currency: str | None = None) -> str | None:
    """An amount as a person reads it: "CNY 8,000,000", "USD 1,250.50" (None when there is none)."""
    if amount is None:
        return None
    number = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
    return f"{currency} {number}" if currency else number
