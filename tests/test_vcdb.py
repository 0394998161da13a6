"""The VCDB importer on the real VERIS files in ../shared/data/vcdb/json."""

import json


def test_imports_every_incident_once_and_is_idempotent(kb, vcdb_dir):
    first = kb("import", "vcdb", str(vcdb_dir))
    assert "3951 new" in first.output
    stats = kb.json("stats", "--scope", "all")
    assert stats["documents"] == 3951 and 3900 < stats["incidents"] < 3951  # VCDB duplicates of one breach join
    assert stats["by_source"] == {"vcdb": 3951}
    second = kb("import", "vcdb", str(vcdb_dir))
    assert "0 new, 0 updated, 3951 unchanged" in second.output
    assert kb.json("stats")["documents"] == 3951


def test_fields_mapped_from_veris(kb, vcdb_dir):
    kb("import", "vcdb", str(vcdb_dir))
    source = json.loads((vcdb_dir / "0001AA7F-C601-424A-B2B8-BE6C9F5164E7.json").read_text())
    doc = kb.json("show", source["incident_id"])
    assert doc["external_id"] == source["incident_id"]
    assert doc["text"] == source["summary"]
    assert doc["url"] == "http://vcdb.org/pdf/va-security.pdf"
    assert doc["published"] == "2010-04-09"
    assert "United States Department of Veterans Affairs" in doc["title"]
    incident = kb.json("show", f"vcdb:{source['incident_id']}")
    assert incident["organisation"] == "United States Department of Veterans Affairs"
    assert incident["country"] == "US" and incident["year"] == 2010
    assert incident["insider_role"] == "employee"
    assert incident["incident_type"] == "fraud"  # a fraudulent bill by a clerk
    assert [d["external_id"] for d in incident["documents"]] == [source["incident_id"]]


def test_former_employees_are_recognised(kb, vcdb_dir):
    kb("import", "vcdb", str(vcdb_dir))
    for file in sorted(vcdb_dir.glob("*.json")):
        data = json.loads(file.read_text())
        if "Former employee" in data.get("actor", {}).get("external", {}).get("variety", []):
            break
    assert kb.json("show", f"vcdb:{data['incident_id']}")["insider_role"] == "former_employee"


def test_bad_files_are_reported_and_the_rest_import(kb, tmp_path, vcdb_dir):
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = sorted(vcdb_dir.glob("*.json"))[:3]
    for file in good:
        (folder / file.name).write_bytes(file.read_bytes())
    (folder / "broken.json").write_text("{not json")
    (folder / "noid.json").write_text(json.dumps({"summary": "no incident id"}))
    result = kb("import", "vcdb", str(folder))
    assert "3 new" in result.output and "2 failed" in result.output
    assert "broken.json" in result.stderr and "noid.json" in result.stderr
    assert kb.json("stats")["documents"] == 3


def test_missing_folder_is_a_clear_error(kb, tmp_path):
    result = kb("import", "vcdb", str(tmp_path / "nowhere"), ok=False)
    assert result.exit_code != 0 and "does not exist" in result.output
