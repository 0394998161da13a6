"""The search page's answers kept: the last CACHE_SIZE, keyed by query and options, emptied when
the database, its WAL or the index file changes (so `kb update` shows at once); concurrent
identical searches run once. Searches run in a pool of their own."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from .. import settings
from ..storage import files

CACHE_SIZE = 256  # search answers kept by the search page (as JSON: ~50 KB each at k=20)
SEARCH_THREADS_PER_CORE = 3


@dataclass(frozen=True)
class Found:
    """One search's answer as the page serves it: warnings, the hits (with row-page paths) as JSON,
    how long the search took, and whether this answer came from the cache."""

    warnings: list[str]
    hits_json: str
    embedding: dict | None = None  # how much is embedded, while not everything is (kb.search.hits.Results)
    search_ms: float = 0.0
    cached: bool = False


class ResultCache:
    """The last CACHE_SIZE answers, emptied when the database, its WAL or the index file changes.

    Concurrent requests for one key share a single search (the first runs it,
    the others await it).
    """

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._found: OrderedDict[tuple, Found] = OrderedDict()
        self._running: dict[tuple, asyncio.Future] = {}
        self._stamp = None

    async def get(self, key: tuple, stamp: tuple, search):
        """The answer for `key`, from the cache or from `await search()`."""
        if stamp != self._stamp:
            self._found.clear()
            self._stamp = stamp
        if key in self._found:
            self._found.move_to_end(key)
            return replace(self._found[key], cached=True)
        while key in self._running:
            running = self._running[key]
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                if not running.cancelled():  # this request went away
                    raise
                # the request running the search went away: run it here
        future = self._running[key] = asyncio.get_running_loop().create_future()
        try:
            found = await search()
        except asyncio.CancelledError:  # this request went away: a waiting one will search again
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no warning when no other request waited
            raise
        finally:
            del self._running[key]
        future.set_result(found)
        if stamp == self._stamp:  # the files did not change while it ran
            self._found[key] = found
            while len(self._found) > self.size:
                self._found.popitem(last=False)
        return found


_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # datasette -> its ResultCache
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def search_pool() -> ThreadPoolExecutor:
    """The threads that run searches: SEARCH_THREADS_PER_CORE per core."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=SEARCH_THREADS_PER_CORE * settings.cores(),
                                       thread_name_prefix="kb-search")
        return _pool


def files_stamp(db_path: str | Path) -> tuple:
    """The file stamps of the database, its WAL and its index file (they change with any write),
    and whether an embedding run holds the index lock."""
    paths = settings.paths(db_path)
    return (*map(settings.file_stamp, (db_path, f"{db_path}-wal", paths.index)), files.held(paths.index_lock))


