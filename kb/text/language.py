"""Language identification without a model: writing script first, then stopwords.

    detect_language("字节跳动起诉前实习生")  -> "zh"

Good enough to tell the languages this knowledge base meets (Chinese, English,
other European news languages, a few non-Latin scripts).
"""

from __future__ import annotations

import re

from .scripts import HAN, HANGUL, KANA

SAMPLE_CHARS = 20_000
MIN_WORDS = 5
CJK_WEIGHT = 2  # one Han/kana/Hangul character carries about a short word
KANA_SHARE_FOR_JA = 0.05

_SCRIPTS = {
    "kana": re.compile(f"[{KANA}]"),
    "han": re.compile(f"[{HAN}]"),
    "hangul": re.compile(f"[{HANGUL}]"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
    "arabic": re.compile(r"[\u0600-\u06ff\u0750-\u077f]"),
    "hebrew": re.compile(r"[\u0590-\u05ff]"),
    "greek": re.compile(r"[\u0370-\u03ff]"),
    "thai": re.compile(r"[\u0e00-\u0e7f]"),
    "devanagari": re.compile(r"[\u0900-\u097f]"),
    "latin": re.compile(r"[A-Za-z\u00c0-\u024f]"),
}

# Default language of each non-Latin script, and the other languages a hint may pick.
_SCRIPT_LANGUAGE = {
    "hangul": ("ko", set()),
    "cyrillic": ("ru", {"uk", "bg", "sr", "mk", "be", "kk"}),
    "arabic": ("ar", {"fa", "ur", "ps"}),
    "hebrew": ("he", {"yi"}),
    "greek": ("el", set()),
    "thai": ("th", set()),
    "devanagari": ("hi", {"mr", "ne"}),
}

_STOPWORDS = {
    "en": "the and of to in is that for it was on with as by at from this be are "
    "have has were which an not but or its said he they",
    "es": "el la los las de del que y en un una por con para es se al lo como más "
    "pero sus fue está ha este esta entre sobre",
    "de": "der die das und ist nicht ein eine zu den dem des mit sich von auf für "
    "auch im es wird werden hat nach bei einer aus wie oder sind",
    "fr": "le la les des et est une un du que qui dans pour pas sur au avec ce il "
    "elle par sont aux plus ont été mais ses cette leur",
    "pt": "o a os as de do da dos das e que em um uma para com não no na por se ao "
    "mais é foi são pelo pela seu sua",
    "it": "il lo la gli le di del della e che è un una per con non in da sono si al "
    "nel alla anche ha ma come più questo dei",
    "nl": "de het een en van is dat op te in niet zijn met voor er die aan ook als "
    "door bij om maar naar heeft wordt worden nog werd deze",
}
_STOPWORD_SETS = {code: set(words.split()) for code, words in _STOPWORDS.items()}
_WORD = re.compile(r"[^\W\d_]+")


def normalize_hint(hint: str | None) -> str | None:
    """'zh-CN', 'en_US', 'DE' -> 'zh', 'en', 'de'; anything else -> None."""
    if not hint:
        return None
    code = re.split(r"[-_\s]", hint.strip(), maxsplit=1)[0].lower()
    return code if len(code) == 2 and code.isalpha() else None


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code of `text`, using `hint` when the text cannot decide."""
    hint_code = normalize_hint(hint)
    sample = (text or "")[:SAMPLE_CHARS]
    script = _dominant_script(sample)
    if script is None:
        return hint_code
    if script == "latin":
        return _latin_language(sample, hint_code)
    if script == "han":
        return "ja" if hint_code == "ja" else "zh"
    if script == "kana":
        return "ja"
    default, others = _SCRIPT_LANGUAGE[script]
    return hint_code if hint_code in others else default


def _dominant_script(sample: str) -> str | None:
    """The script with the most (weighted) letters; Han with enough kana is 'kana'."""
    counts = {name: len(rx.findall(sample)) for name, rx in _SCRIPTS.items()}
    kana = counts.pop("kana")
    counts["han"] += kana
    weighted = {
        name: n * (CJK_WEIGHT if name in ("han", "hangul") else 1)
        for name, n in counts.items()
    }
    script = max(weighted, key=weighted.get)
    if weighted[script] == 0:
        return None
    if script == "han" and kana >= KANA_SHARE_FOR_JA * counts["han"]:
        return "kana"
    return script


def _latin_language(sample: str, hint_code: str | None) -> str | None:
    """Pick among en/es/de/fr/pt/it/nl by stopword hits; defer to the hint if unsure."""
    words = [w.lower() for w in _WORD.findall(sample)]
    scores = {code: sum(w in stop for w in words) for code, stop in _STOPWORD_SETS.items()}
    ranked = sorted(scores, key=scores.get, reverse=True)
    best, second = scores[ranked[0]], scores[ranked[1]]
    confident = len(words) >= MIN_WORDS and best >= 3 and best >= 1.2 * second
    if confident or not hint_code:
        return ranked[0] if best > 0 else hint_code
    return hint_code
