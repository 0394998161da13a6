"""English glosses of Chinese queries (kb.gloss), which let a Chinese question find English records."""

from hypothesis import given, settings, strategies as st

from kb.search.gloss import gloss
from kb.text.scripts import HAN_RUN as CJK_RUN
from kb.text.translate import english


def test_a_chinese_question_reads_as_english_words():
    english = gloss("实习生篡改模型训练代码").split()
    assert {"intern", "tampering", "model", "training"} <= set(english)


def test_names_come_from_the_alias_tables_and_latin_words_stay():
    assert gloss("字节跳动前实习生").split()[0] == "ByteDance"  # not "byte throb"
    assert gloss("Cloudflare漏洞泄露密码").split()[0] == "Cloudflare"
    assert "password" in gloss("Cloudflare漏洞泄露密码").split()


def test_lexicon_terms_written_in_two_scripts_are_read_whole():
    """U盘 and GPU集群 mix Latin and Chinese: read as two runs they were "U plate" and no lexicon
    wording at all, so a Chinese question about a lost U盘 never looked for a thumb drive."""
    from kb.search.query import analyse

    assert "USB drive" in gloss("员工未加密的U盘丢失") and "plate" not in gloss("员工未加密的U盘丢失")
    assert "GPU cluster" in gloss("用GPU集群训练")
    assert "thumb drive" in analyse("员工未加密的U盘丢失").expansions[1]


def test_function_words_add_nothing():
    assert gloss("的了把被") is None
    assert gloss("intern sabotage") is None  # nothing to translate: the query is searched as it is


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_any_text_glosses_to_english_or_nothing(text):
    english = gloss(text)
    assert english is None or (english.strip() and not CJK_RUN.search(english))


def test_dates_and_amounts_read_as_english_writes_them():
    """A Chinese date or amount in numerals is what an English report of the case says: 800万元 is
    8 million yuan (not "800 ten thousand yuan"), 2024年6月 June 2024 (not "2024 year 6 month")."""
    assert english("字节跳动索赔800万元") == "ByteDance damages 8 million yuan"
    assert english("2024年6月至7月间") == "June 2024 arrive July between"
    assert english("2018年9月1日上午") == "1 September 2018 morning"
    assert english("损失2.3亿元，罚金1.5万元") == "loss 230 million yuan fine 15 000 yuan"
    assert english("2019年底") == "2019 the end of the year"  # not a date of its own
