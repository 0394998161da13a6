"""`kb embed` in a child process beside `kb serve --embed`, at low priority, stopped with the server.

The child is a plain `kb embed`: it holds the index lock (a second embedding run waits for it),
writes vectors in small transactions and the FAISS file as they land (kb.index.vector_index.Follower),
so the server searches them without a restart and a kill at any point loses only the batch in hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .. import settings
from ..storage import files

NICE = 19  # the lowest CPU priority: queries of the server beside it come first


def start_embedding(db_path: Path, wait: float = 30.0) -> subprocess.Popen:
    """Start `kb --db DB embed` at priority NICE (its progress goes to this process's stderr) and
    wait up to `wait` seconds until an embedding run holds the index lock, so that the first
    searches already say that one is on."""
    child = subprocess.Popen([sys.executable, "-m", "kb.cli", "--db", str(db_path), "embed"],
                             stdin=subprocess.DEVNULL, preexec_fn=lambda: os.nice(NICE))
    lock, deadline = settings.paths(db_path).index_lock, time.monotonic() + wait
    while not files.held(lock) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return child


def stop(child: subprocess.Popen, wait: float = 10.0) -> None:
    """Stop the child if it still runs (what it wrote stays; the next `kb embed` does the rest)."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(wait)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
