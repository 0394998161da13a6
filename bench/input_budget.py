"""The cost of the worst inputs under the caps: seconds and peak resident memory per command.

Usage: .venv/bin/python bench/input_budget.py [--baseline TREE]
Each command runs as its own process (`python -m kb.cli`), on a fresh knowledge base of the
starter set, with inputs generated under the caps: pages of many short paragraphs that each
name an insider term (kb add, kb show --json, kb similar), a 30,000-page PDF, a 20 MB jsonl
import, and the longest queries (kb search, keyword and hybrid: hybrid needs the embedding
model, so the starter set is embedded first). With --baseline TREE the same commands run with
the code of another checkout (its `kb` package first on PYTHONPATH), side by side in this one
run; the machine is shared, so compare the two columns, not figures taken on other days.
The budget stated in the README ("Limits"): <= 2 s and <= 300 MB per document command.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.generated import many_page_pdf  # noqa: E402  (the PDF the hostile tests use)

TERMS = ["an intern tampered with the training code", "the engineer deleted the database",
         "a contractor stole source code", "the former employee wiped servers", "insider sabotage of the model"]
TIMEOUT = 300  # seconds a command may run before it counts as unbounded


def page(paragraphs: int) -> str:
    return "# Many paragraphs\n\n" + "\n\n".join(f"Paragraph {i}: {TERMS[i % 5]}." for i in range(paragraphs))


def jsonl(size: int) -> str:
    rng, words = random.Random(5), "the intern engineer deleted tampered database code model stole court".split()
    lines = [json.dumps({"type": "incident", "key": f"bench:{i}", "title": f"Incident {i}"}) for i in range(400)]
    total, i = 0, 0
    while total < size:
        text = " ".join(rng.choice(words) for _ in range(700)) + "."
        lines.append(json.dumps({"type": "document", "source": "bench", "external_id": f"b{i}", "kind": "news",
                                 "title": f"Document {i}", "text": text, "incidents": [{"incident": f"bench:{i % 400}"}]}))
        total, i = total + len(lines[-1]), i + 1
    return "\n".join(lines) + "\n"


def run(tree: Path, args: list[str]) -> tuple[float, float, str]:
    """(seconds, peak resident MB, what went wrong or '') of one `kb` command with `tree`'s code."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", *args], cwd=tree, env=env,  # tree's kb first
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(TIMEOUT, proc.kill)
    timer.start()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak memory
    timer.cancel()
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) < 0:
        err += f"\nkilled after {TIMEOUT} s"
    error = next((line for line in err.splitlines() if line.startswith("Error:")), "")
    failed = os.waitstatus_to_exitcode(status) != 0
    return seconds, usage.ru_maxrss / 1024, (error or (err.strip().splitlines() or [""])[-1] if failed else "")[:70]


def measure(tree: Path, folder: Path) -> list[tuple[str, float, float, str]]:
    db = str(folder / "kb.db")
    run(tree, ["--db", db, "import", "starter"])
    run(tree, ["--db", db, "embed"])
    inputs = folder / "inputs"
    steps = [("add page 8,000 paragraphs (416 KB)", ["add", str(inputs / "p8000.md")]),
             ("show it --json", ["show", "d53", "--json"]),
             ("similar it", ["similar", "d53"]),
             ("add page 90,000 paragraphs (4.8 MB)", ["add", str(inputs / "p90000.md")]),
             ("show it --json", ["show", "d54", "--json"]),
             ("similar it", ["similar", "d54"]),
             ("add PDF of 30,000 pages (4.8 MB)", ["add", str(inputs / "pages.pdf")]),
             ("search 1,998 chars of Chinese", ["search", (("删库实习生篡改代码训练模型") * 200)[:1998]]),
             ("search 200 words of Chinese", ["search", " ".join(["删库", "实习生", "篡改", "代码"] * 50)]),
             ("search '删库 ' * 500, keyword", ["search", "--mode", "keyword", "删库 " * 500]),
             ("import jsonl 20 MB", ["import", "jsonl", str(inputs / "big.jsonl")])]
    out = []
    for label, args in steps:
        seconds, peak, error = run(tree, ["--db", db, *args])
        out.append((label, seconds, peak, error))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to run the same commands with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs"
        inputs.mkdir()
        (inputs / "p8000.md").write_text(page(8000))
        (inputs / "p90000.md").write_text(page(90_000)[:4_800_000])
        (inputs / "pages.pdf").write_bytes(many_page_pdf(30_000))
        (inputs / "big.jsonl").write_text(jsonl(20_000_000))
        trees = [("this tree", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
        results = {}
        for name, tree in trees:
            folder = Path(tmp) / name.replace(" ", "_")
            folder.mkdir()
            (folder / "inputs").symlink_to(inputs)
            results[name] = measure(tree, folder)
    header = f"{'command':<38}" + "".join(f"   {name:<27}" for name, _ in trees)
    print(header + "\n" + "-" * len(header))
    for row in zip(*results.values()):
        cells = "".join(f"   {f'{s:6.2f} s {m:6.0f} MB' + (' refused' if e.startswith('Error') else ' FAILED' if e else ''):<27}"
                        for _, s, m, e in row)
        print(f"{row[0][0]:<38}{cells}")
    for name, rows in results.items():
        for label, _, _, error in rows:
            if error:
                print(f"{name}: {label}: {error}")


if __name__ == "__main__":
    main()
