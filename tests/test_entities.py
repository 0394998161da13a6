"""Entity and fact extraction, on the real seed article and on real-world phrasings."""

import pytest

from kb.extract.entities import extract
from kb.sources.files import read_file


@pytest.fixture
def seed(shared):
    files = sorted((shared / "news" / "seed").glob("*.zh.md"))
    if not files:
        pytest.skip("seed article not found")
    return files[0]


def facts(entities, kind):
    return {(e.name, e.label) for e in entities if e.kind == kind}


def names(entities, kind):
    return {e.name for e in entities if e.kind == kind}


def test_seed_article_yields_the_facts_of_the_case(seed):
    rec = read_file(seed)
    found = extract(rec.title, rec.text, published=rec.published)
    assert "ByteDance" in names(found, "organisation")
    assert {e.surface for e in found if e.name == "ByteDance"} == {"字节跳动"}
    assert "intern" in names(found, "role")
    assert "田某某" in names(found, "person")
    (itype,) = [e for e in found if e.kind == "incident_type"]
    assert (itype.name, itype.value) == ("sabotage", "model training sabotage")
    courts = [e for e in found if e.kind == "court"]
    assert {(c.name, c.surface) for c in courts} == {("Beijing Haidian District People's Court", "北京市海淀区人民法院")}
    money = facts(found, "money")
    assert ("8000000 CNY", "claim") in money and ("20000 CNY", "costs") in money
    assert ("10000000 USD", "loss") in money  # the rumoured 上千万美元
    dates = facts(found, "date")
    assert ("2024-06/2024-07", "incident") in dates
    assert ("2024-08", "dismissal") in dates
    assert ("2024-11-27", "case") in dates  # 11月27日 in an article of 2024-11-29
    assert "侵权责任纠纷" in names(found, "statute")


def test_spans_point_at_the_words_found(seed):
    rec = read_file(seed)
    full = f"{rec.title}\n\n{rec.text}"
    for e in extract(rec.title, rec.text, published=rec.published):
        assert full[e.start:e.end] == e.surface


@pytest.mark.parametrize("text, kind, expected", [
    ("Case 3:23-cv-04557-VC was filed", "case_number", ("3:23-cv-04557-vc", "civil")),
    ("United States v. Zhang, No. 1:19-cr-00123", "case_number", ("1:19-cr-00123", "criminal")),
    ("案号为（2024）京0108民初12345号", "case_number", ("(2024)京0108民初12345号", "civil")),
    ("charged under 18 U.S.C. § 1832", "statute", ("18 U.S.C. § 1832", None)),
    ("violating 18 USC 1030(a)(5)", "statute", ("18 U.S.C. § 1030", None)),
    ("a claim under the Defend Trade Secrets Act", "statute", ("18 U.S.C. § 1836", "Defend Trade Secrets Act")),
    ("涉嫌破坏计算机信息系统罪", "statute", ("破坏计算机信息系统罪", "PRC Criminal Law art. 286")),
    ("构成侵犯商业秘密罪", "statute", ("侵犯商业秘密罪", "PRC Criminal Law art. 219")),
])
def test_case_numbers_and_statutes(text, kind, expected):
    found = [(e.name, e.value) for e in extract(None, text) if e.kind == kind]
    assert expected in found


@pytest.mark.parametrize("text, expected", [
    ("He caused losses of $1.2 million.", "1200000 USD"),
    ("a fine of USD 5,000", "5000 USD"),
    ("索赔800万元", "8000000 CNY"),
    ("合理支出2万元", "20000 CNY"),
    ("损失上千万美元", "10000000 USD"),
    ("damages of 8 million yuan", "8000000 CNY"),
    ("£140,000", "140000 GBP"),
])
def test_money_with_currency(text, expected):
    assert expected in names(extract(None, text), "money")


@pytest.mark.parametrize("text", [
    "the U.S. District Court for the Northern District of California",
    "a judge in the Northern District of California",
    "Zhang, No. 5:18-cr-00312 (N.D. Cal. 2018)",
])
def test_us_court_spellings_share_one_name(text):
    assert names(extract(None, text), "court") == {"U.S. District Court for the Northern District of California"}


@pytest.mark.parametrize("text, expected", [
    ("in June 2024", "2024-06"),
    ("on June 5, 2024", "2024-06-05"),
    ("on 27 November 2024", "2024-11-27"),
    ("between June and July 2024", "2024-06/2024-07"),
    ("filed 2023-08-14", "2023-08-14"),
    ("2024年11月27日", "2024-11-27"),
])
def test_dates(text, expected):
    assert expected in names(extract(None, text), "date")


def test_aliases_join_languages_and_roles_are_specific():
    zh = extract("腾讯前员工删库", "微盟外包人员")
    assert names(zh, "organisation") == {"Tencent", "Weimob"}
    assert {"former_employee", "contractor"} <= names(zh, "role")
    en = extract("Former Google engineer charged", "He worked at Alphabet and Tesla Inc.")
    assert {"Google", "Tesla"} <= names(en, "organisation")
    assert "former_employee" in names(en, "role")
    # Common words are not companies.
    assert not names(extract(None, "an apple a day; meta data; uber cool"), "organisation")


def test_users_extend_the_alias_table(kb, tmp_path):
    doc = tmp_path / "note.txt"
    doc.write_text("抖音集团起诉一名前员工泄露商业秘密，索赔50万元。", encoding="utf-8")
    kb("alias", "ByteDance", "抖音集团")
    kb("add", str(doc))
    record = kb.json("show", "d1")
    assert {f["name"] for f in record["facts"] if f["kind"] == "organisation"} == {"ByteDance"}


def test_rumoured_and_denied_amounts_are_claims_not_the_impact(kb, seed):
    kb("add", str(seed))
    inc = kb.json("show", kb.json("show", "d1")["incidents"][0]["key"])
    # ByteDance's CNY 8M is what it claims in court, not a loss anyone established: kept as a claim.
    assert inc["impact_amount"] is None
    claimed = [(a["kind"], a["amount"], a["currency"]) for a in inc["amounts"] if "800万" in a["text"]]
    assert ("claimed", 8_000_000, "CNY") in claimed
    shown = kb("show", inc["key"]).output
    assert "claimed: 8,000,000 CNY" in shown and "8000000.0" not in shown  # as a person reads it
    assert "10,000,000 USD" not in (inc["impact_description"] or "")
    rumoured = [f for f in inc["facts"] if f["kind"] == "money" and f["name"] == "10000000 USD"]
    assert {f["status"] for f in rumoured} == {"rumour", "denied"}
    denied = next(f for f in rumoured if f["status"] == "denied")
    assert "严重夸大" in denied["mentions"][0]["sentence"]
    # A lawyer's "if ... then it may be a crime" is hypothetical, not a charge.
    charges = [f for f in inc["facts"] if f["kind"] == "statute" and f["name"] == "破坏生产经营罪"]
    assert charges and {f["status"] for f in charges} == {"hypothetical"}
    # 商汤 is where the intern worked before: not a party.
    orgs = {(f["name"], f["label"]) for f in inc["facts"] if f["kind"] == "organisation"}
    assert ("SenseTime", "past_employer") in orgs and ("SenseTime", None) not in orgs
    assert inc["organisation"] == "ByteDance"


@pytest.mark.parametrize("sentence, status", [
    ("The engineer allegedly copied $2 million of files.", "claim"),
    ("He could face a fine of $250,000 if convicted.", "hypothetical"),
    ("The company denied reports of a $5 million loss.", "denied"),
    ("Rumours of a $9 million loss spread online.", "rumour"),
    ("网传损失超过1亿元。", "rumour"),
    ("若罪名成立，则可能被判处罚金50万元。", "hypothetical"),
    ("据称他造成了300万元损失。", "claim"),
    ("The court ordered him to pay $146,984 in restitution.", "fact"),
])
def test_each_amount_keeps_how_it_was_stated(sentence, status):
    (amount,) = [e for e in extract(None, sentence) if e.kind == "money"]
    assert amount.status == status and amount.sentence == sentence


def test_names_meet_across_scripts_and_masked_given_names():
    zh = extract(None, "字节跳动起诉前实习生田某某。")
    en = extract(None, "ByteDance sued a former intern identified only as Tian.")
    assert names(zh, "surname") == names(en, "surname") == {"tian"}
    assert names(extract(None, "A former software engineer named Paige A. Thompson hacked in."), "surname") == {"thompson"}


@pytest.mark.parametrize("alias", ["", "   ", "...", "、"])
def test_an_empty_alias_is_refused_and_nothing_breaks(kb, tmp_path, alias):
    result = kb("alias", "ByteDance", alias, ok=False)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert kb("alias", "", "字节", ok=False).exit_code == 1
    note = tmp_path / "note.txt"
    note.write_text("字节跳动起诉一名前实习生。", encoding="utf-8")
    kb("add", str(note))  # used to fail with IndexError after an empty alias
    kb("incident", "relink")
    assert kb.json("show", "d1")["incidents"]


def test_alias_table_ignores_empty_names_at_the_root():
    from kb.extract.aliases import Aliases

    table = Aliases({"organisation": {"ByteDance": ["", "  ", "字节跳动"]}, "court": {}})
    assert names(extract(None, "字节跳动的实习生", table), "organisation") == {"ByteDance"}


@pytest.mark.parametrize("text, surname", [("法院判处被告人王X有期徒刑。", "wang"), ("前员工田**删除了数据。", "tian"),
                                           ("韩某删除了财务系统数据。", "han")])
def test_masked_given_names_keep_the_surname(text, surname):
    assert names(extract(None, text), "surname") == {surname}
