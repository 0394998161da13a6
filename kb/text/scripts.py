"""Writing-system ranges, in one place: Chinese (Han) characters and the other scripts
written without spaces between words.

    HAN_RUN.findall("字节跳动起诉前实习生")   # Chinese characters: what jieba segments
    has_han("ByteDance 字节跳动")            # True
"""

from __future__ import annotations

import re

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs, extension A, compatibility
KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d"
HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
CJK = HAN + KANA + HANGUL  # scripts written without spaces between words

HAN_CHAR = re.compile(f"[{HAN}]")
HAN_RUN = re.compile(f"[{HAN}]+")  # runs of Chinese characters
CJK_RUN = re.compile(f"[{CJK}]+")  # runs of Han, kana or Hangul
_CJK_CHAR = re.compile(f"[{CJK}]")


def has_han(text: str | None) -> bool:
    """Whether `text` holds a Chinese character."""
    return bool(text and HAN_CHAR.search(text))


def cjk_share(text: str) -> float:
    """The share of characters of `text` that are Chinese, Japanese or Korean."""
    return len(_CJK_CHAR.findall(text)) / len(text) if text else 0.0
