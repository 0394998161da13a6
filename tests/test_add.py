"""`kb add` of user documents, `kb import starter`, `kb stats` and `kb show` on real files."""

import subprocess
import sys

import pytest

SEED_URL_START = "https://mp.weixin.qq.com/s?__biz=MzI4NDY2MDMwMw==&mid=2247513175"


@pytest.fixture
def seed(shared):
    files = sorted((shared / "news" / "seed").glob("*.zh.md"))
    if not files:
        pytest.skip(f"seed article not found under {shared / 'news' / 'seed'}")
    return files[0]


def test_seed_article_comes_out_with_its_header(kb, seed):
    assert kb("add", str(seed)).output.startswith("new: d1 ")
    doc = kb.json("show", "d1")
    assert doc["title"] == "前实习生篡改代码攻击大模型训练，字节跳动起诉索赔800万"
    assert doc["source"] == "安全内参"
    assert doc["published"] == "2024-11-29"
    assert doc["language"] == "zh"
    assert doc["url"].startswith(SEED_URL_START)
    assert doc["kind"] == "news"
    assert "田某某" in doc["text"] and "![" not in doc["text"] and "**" not in doc["text"]
    assert doc["raw_sha256"] and doc["fetched_at"]
    # WeChat's closing prompts (share, follow, mini-program) are page chrome, not the article.
    assert doc["text"].rstrip().endswith("带你一起读懂网络安全 ↓")
    assert not {"微信扫一扫", "轻触阅读原文", "取消"} & set(doc["text"].splitlines())
    # Adding it again changes nothing; it is found by its URL too.
    assert kb("add", str(seed)).output.startswith("unchanged: d1 ")
    assert kb.json("show", doc["url"])["id"] == 1


def test_html_text_and_pdf_files(kb, shared, tmp_path):
    page = shared / "news" / "pages" / "archive.org.he.xinhuanet.com.25340717.html"
    note = tmp_path / "note.txt"
    note.write_text("Contractor wiped the build servers\n\nHe was angry about a contract.", encoding="utf-8")
    pdf = tmp_path / "ruling.pdf"
    pdf.write_bytes(_pdf_with_text("Judgment: the former employee deleted the database."))
    out = kb("add", str(page), str(note), str(pdf)).output.splitlines()
    assert [line.split()[0] for line in out if line.startswith("new:")] == ["new:", "new:", "new:"]
    html_doc, text_doc, pdf_doc = (kb.json("show", f"d{i}") for i in (1, 2, 3))
    assert html_doc["language"] == "zh" and "\ufffd" not in html_doc["text"]  # GBK served as UTF-8
    assert text_doc["title"] == "Contractor wiped the build servers" and text_doc["kind"] == "user"
    assert "deleted the database" in pdf_doc["text"]


def test_bad_files_are_clear_errors_and_the_rest_is_added(kb, tmp_path):
    good = tmp_path / "good.md"
    good.write_text("---\ntitle: Engineer deletes VMs\ndate: 2018-09-24\n---\nHe deleted 456 virtual machines.")
    broken_pdf = tmp_path / "broken.pdf"
    broken_pdf.write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "x.docx").write_bytes(b"PK\x03\x04")
    result = kb("add", str(tmp_path / "missing.html"), str(broken_pdf), str(good),
                str(tmp_path / "x.docx"), ok=False)
    assert result.exit_code == 1
    assert "no such file" in result.stderr and "cannot read PDF" in result.stderr
    assert "unsupported file type" in result.stderr and "Traceback" not in result.output
    assert kb.json("stats")["documents"] == 1
    assert kb.json("show", "d1")["published"] == "2018-09-24"


def test_starter_set_is_curated_bilingual_and_idempotent(kb):
    first = kb("import", "starter").output
    stats = kb.json("stats")
    assert stats["incidents"] >= 30
    assert stats["by_language"]["zh"] >= 5 and stats["by_language"]["en"] >= 30
    assert stats["by_kind"] == {"curated": stats["documents"]}
    assert "0 new" not in first
    assert kb("import", "starter").output.startswith("starter: 0 new, 0 updated")
    incident = kb.json("show", "starter:bytedance-intern-model-training-sabotage-2024")
    assert incident["organisation"] == "ByteDance" and incident["insider_role"] == "intern"
    assert incident["curated"] == 1 and incident["country"] == "CN"
    assert {d["language"] for d in incident["documents"]} == {"en", "zh"}
    assert any("海淀" in (c["court"] or "") for c in incident["cases"])
    assert all(d["url"] for d in incident["documents"])


def test_stats_keys_and_show_errors(kb):
    kb("init")
    stats = kb.json("stats")
    assert {"documents", "incidents", "chunks", "cases", "by_source", "by_kind", "by_language"} <= set(stats)
    missing = kb("show", "no-such-thing", ok=False)
    assert missing.exit_code == 1 and "nothing found" in missing.output


def test_cli_errors_have_no_traceback(tmp_path):
    """Run as a real process: expected problems give one line and a non-zero exit."""
    kb = [sys.executable, "-m", "kb.cli"]
    cases = [
        ["--db", str(tmp_path / "none.db"), "stats"],
        ["--db", str(tmp_path / "kb.db"), "import", "vcdb", str(tmp_path / "nowhere")],
    ]
    for args in cases:
        result = subprocess.run(kb + args, capture_output=True, text=True)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr and "Error" in result.stderr


def _pdf_with_text(text: str) -> bytes:
    """A minimal one-page PDF whose text layer says `text`."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out
