"""Legal facts with provenance (EN and ZH), Chinese court records, and the labelled benchmark."""

import json

import pytest

from kb.records import document_text
from kb.extract.names import normalise_case_number
from kb.extract.legal import facts
from kb.extract.court_records import recognise_court_record


def _one(text, kind, **want):
    found = [f for f in facts(None, text) if f.kind == kind and all(getattr(f, k) == v for k, v in want.items())]
    assert found, f"no {kind} {want} in {[(f.kind, f.status, f.quantity, f.unit, f.amount) for f in facts(None, text)]}"
    return found[0]


def test_english_sentence_is_imposed_with_quantity_unit_and_sentence():
    text = ("Jones, 45, was sentenced to 24 months in prison and three years of supervised release, "
            "and ordered to pay $1.4 million in restitution. He faces up to 10 years in prison on a second count.")
    prison = _one(text, "sentence", sentence_type="incarceration", status="imposed")
    assert (prison.quantity, prison.unit) == (24, "month")
    full = document_text(None, text)  # offsets are in title + blank line + text, as for entities
    assert full[prison.start:prison.end] == prison.sentence and prison.sentence.startswith("Jones")
    _one(text, "sentence", sentence_type="supervised_release", quantity=3, unit="year")
    _one(text, "sentence", sentence_type="restitution", amount=1_400_000, currency="USD")
    assert not [f for f in facts(None, text) if f.quantity == 10 and f.status == "imposed"]
    _one(text, "sentence", quantity=10, status="maximum")


def test_maximum_and_plea_terms_are_not_sentences():
    text = ("If convicted, each faces a sentence of up to 10 years in prison. "
            "Under the plea agreement, Lee has agreed to serve a six-month prison sentence.")
    assert all(f.status != "imposed" for f in facts(None, text) if f.kind == "sentence")


def test_alleged_charge_is_not_a_conviction():
    text = ("Smith allegedly stole trade secrets and was indicted on two counts of theft of trade secrets "
            "in violation of 18 U.S.C. § 1832, case 1:19-CR-123-ABC.")
    charge = _one(text, "charge", statute="theft of trade secrets")
    assert (charge.status, charge.count) == ("alleged", 2)
    _one(text, "charge", statute="18 U.S.C. § 1832")
    assert not [f for f in facts(None, text) if f.kind == "verdict"]
    plea = _one("Smith pleaded guilty today to one count of wire fraud.", "charge", statute="wire fraud")
    assert plea.status == "convicted"


def test_chinese_sentence_probation_fine_and_claim():
    text = ("被告人田某某犯破坏计算机信息系统罪，判处有期徒刑六年，缓刑三年，并处罚金人民币五万元。"
            "字节跳动请求法院判令田某某赔偿经济损失800万元。")
    _one(text, "sentence", sentence_type="incarceration", quantity=6, unit="year", status="imposed")
    _one(text, "sentence", sentence_type="probation", quantity=3, unit="year")
    _one(text, "sentence", sentence_type="fine", amount=50000, currency="CNY")
    _one(text, "charge", statute="破坏计算机信息系统罪", status="convicted")
    claim = _one(text, "claim", amount=8_000_000, currency="CNY")
    assert claim.status == "claimed"  # a claim, never an award or a loss
    assert not [f for f in facts(None, text) if f.kind == "sentence" and f.amount == 8_000_000]
    months = _one("被告人张某犯侵犯商业秘密罪，判处有期徒刑三年六个月。", "sentence", sentence_type="incarceration")
    assert (months.quantity, months.unit) == (42, "month")
    seed = "字节跳动请求法院，判令田某某赔偿公司侵权损失800万元及合理支出2万元，并公开赔礼道歉。"
    assert {(f.status, f.amount) for f in facts(None, seed) if f.kind == "claim"} == {
        ("claimed", 8_000_000), ("claimed", 20_000)}
    assert not facts(None, "律师表示，如果此事确实造成巨大损失，田某某涉嫌破坏生产经营罪。")  # a hypothetical
    suspect = _one("2017年3月11日，被告人杨某因涉嫌走私毒品罪被泉州市公安局刑事拘留。", "charge", statute="走私毒品罪")
    assert suspect.status == "alleged"


@pytest.mark.parametrize("sentence, status", [
    ("上海市静安区人民检察院以涉嫌破坏计算机信息系统罪对前研发工程师詹某某提起公诉。", "alleged"),
    ("检察院以破坏计算机信息系统罪对其提起公诉。", "alleged"),
    ("法院以破坏计算机信息系统罪判处被告人有期徒刑二年。", "convicted"),
    ("被告人韩某犯破坏计算机信息系统罪，判处有期徒刑七年。", "convicted"),
])
def test_a_chinese_charge_named_in_a_prosecution_is_alleged(sentence, status):
    """以…罪 names what a prosecutor charges as well as what a court convicts of."""
    assert _one(sentence, "charge", statute="破坏计算机信息系统罪").status == status


@pytest.mark.parametrize("raw, norm", [
    ("1:19-CR-123-ABC", "1:19-cr-00123"), ("1:19-cr-00123", "1:19-cr-00123"),
    ("（2020）沪0113刑初889号", "(2020)沪0113刑初889号"), ("(2020)沪0113刑初889号", "(2020)沪0113刑初889号"),
])
def test_case_numbers_join_across_spellings(raw, norm):
    assert normalise_case_number(raw) == norm


def test_chinese_case_texts_are_court_records_and_news_is_not(shared):
    path = shared / "court" / "zh-lecard" / "query.jsonl"
    if not path.exists():
        pytest.skip("no LeCaRD case texts in shared data")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    recognised = [recognise_court_record(r["q"]) for r in rows]
    assert sum(1 for r in recognised if r) >= 0.85 * len(rows)
    found = [r for r in recognised if r]
    assert sum(r["case_type"] == "criminal" for r in found) >= 0.95 * len(found)  # all are criminal cases
    seed = sorted((shared / "news" / "seed").glob("*.md"))
    assert seed and recognise_court_record(seed[0].read_text(encoding="utf-8")) is None
    judgment = recognise_court_record(
        "上海市徐汇区人民法院\n刑事判决书\n（2020）沪0104刑初889号\n公诉机关上海市徐汇区人民检察院。\n"
        "被告人李某某，男。\n经审理查明，被告人李某某犯侵犯商业秘密罪，判处有期徒刑二年。")
    assert judgment["case_number"] == "(2020)沪0104刑初889号"
    assert judgment["court"] == "上海市徐汇区人民法院"
    assert judgment["cause"] == "侵犯商业秘密罪"
    assert judgment["parties"]["defendant"] == ["李某某"]
    assert "有期徒刑二年" in judgment["judgment"]
    notice = recognise_court_record(
        "开庭公告\n定于2024年12月10日上午9时在本院第十法庭公开开庭审理原告北京字节跳动科技有限公司诉被告田某某"
        "侵权责任纠纷一案。北京市海淀区人民法院")
    assert (notice["case_type"], notice["cause"]) == ("civil", "侵权责任纠纷")
    assert notice["parties"] == {"plaintiff": ["北京字节跳动科技有限公司"], "defendant": ["田某某"]}
    assert notice["court"] == "Beijing Haidian District People's Court"


def test_saved_judgment_is_a_court_document_with_facts_in_show(kb, tmp_path):
    doc = tmp_path / "judgment.txt"
    doc.write_text("北京市海淀区人民法院\n刑事判决书\n（2021）京0108刑初1234号\n公诉机关北京市海淀区人民检察院。\n"
                   "被告人王某某，男。\n经审理查明，被告人王某某犯破坏计算机信息系统罪，判处有期徒刑三年，缓刑四年。",
                   encoding="utf-8")
    kb("add", str(doc))
    kb("add", str(doc))  # adding twice replaces the facts, it does not double them
    shown = kb.json("show", "d1")
    assert shown["kind"] == "court"
    assert shown["meta"]["court_record"]["case_number"] == "(2021)京0108刑初1234号"
    sentences = [f for f in shown["legal_facts"] if f["kind"] == "sentence"]
    assert sorted((f["sentence_type"], f["quantity"], f["unit"]) for f in sentences) == [
        ("incarceration", 3, "year"), ("probation", 4, "year")]
    full = document_text(shown["title"], shown["text"])
    assert all(full[f["start_offset"]:f["end_offset"]] == f["sentence"] for f in sentences)
    assert {f["case_number"] for f in sentences} == {"(2021)京0108刑初1234号"}


def test_benchmark_floors(shared):
    if not (shared / "doj" / "press_releases_sample.csv").exists():
        pytest.skip("no DOJ releases in shared data")
    from bench.legal_extraction import score

    scores = score(shared)
    for kind in ("sentence", "plea", "charge"):
        assert scores[kind]["precision"] >= 0.9 and scores[kind]["recall"] >= 0.9, (kind, scores[kind])
