"""Pure per-document work (entity and legal-fact extraction) on every core.

    with workers.sharing(2):         # kb.extract.pipeline opens one around a whole write
        found = workers.map_all(extract_one, items)
        results = workers.start(extract_one, items)   # ...other work here...
        found = results()

`map_all(func, items)` is `[func(item) for item in items]`. Inside a
`sharing()` block, with at least MIN_ITEMS items, it runs on worker
processes (as many as `sharing` allows: KB_WORKERS, one per core by default; 1: none) forked at the first such
call and kept until the block ends (the next batch reuses them). `func` must be a module-level
function of picklable items that reads nothing but its item and module
constants: a forked worker sees the parent as it was when forked.

Processes are forked only from a single-threaded process (forking a threaded
one can copy a lock held by another thread); elsewhere, and on platforms
without fork, the work runs in this process, with the same results.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from typing import Any, Callable, Iterator


MIN_ITEMS = 200  # fewer items run here: forking and pickling would cost more than they save

_owner: int | None = None  # the thread whose sharing() block is open
_pool: Any = None  # that block's multiprocessing pool, once forked
_processes = 1  # that block's worker processes


@contextlib.contextmanager
def sharing(processes: int = 1) -> Iterator[None]:
    """Let map_all use up to `processes` worker processes until the block ends. Nested blocks share
    the outer one; in another thread meanwhile, the work runs in that thread."""
    global _owner, _pool, _processes
    if _owner is not None:
        yield
        return
    _processes = processes
    _owner = threading.get_ident()
    try:
        yield
    finally:
        pool, _pool, _owner = _pool, None, None
        if pool is not None:
            pool.terminate()
            pool.join()


def map_all(func: Callable[[Any], Any], items: list) -> list:
    """[func(item) for item in items], split over worker processes where that pays (see above)."""
    return start(func, items)()


def start(func: Callable[[Any], Any], items: list) -> Callable[[], list]:
    """map_all begun now: returns the function that waits for its results, so that this
    process can do other work meanwhile (where no workers are used, the work runs at once)."""
    pool = _workers() if len(items) >= MIN_ITEMS else None
    if pool is None:
        done = [func(item) for item in items]
        return lambda: done
    return pool.map_async(func, items, chunksize=max(1, len(items) // (4 * _processes))).get


def _workers():
    """The open block's pool, forked now if there is none; None where none may be used."""
    global _pool
    if _owner != threading.get_ident():
        return None
    if _pool is None and _processes > 1 and threading.active_count() == 1 \
            and "fork" in multiprocessing.get_all_start_methods():
        _pool = multiprocessing.get_context("fork").Pool(_processes)
    return _pool
