"""The SQL functions of the site: kb_search() and kb_search_incidents(), inside any SQL query."""

from __future__ import annotations

import json
import time

from ..errors import InvalidInput, KBError
from ..search.filters import check_k
from .finding import knowledge_base


def add_search_functions(conn, path, time_limit: float) -> None:
    """Give a connection kb_search(query[, k[, mode]]), the best documents' ids as a JSON array,
    and kb_search_incidents(query[, k[, mode]]), the best incidents' ids. Bad arguments return
    {"error": reason} instead of ids. Calls on one connection share a time budget of the SQL time
    limit (`time_limit` seconds); a query that spends it is interrupted like any query that runs
    too long."""
    kb = knowledge_base(path)
    budget = TimeBudget(time_limit)

    def sql_function(by: str, key: str):
        def function(query, k=10, mode="hybrid"):
            try:
                results = budget.spend(lambda: kb.search(query, k=check_k(k), mode=mode, by=by))
            except KBError as exc:
                if budget.left <= 0:
                    conn.interrupt()  # Datasette reports it as a query over its time limit
                    return "[]"
                return json.dumps({"error": str(exc)}, ensure_ascii=False)
            return json.dumps([getattr(hit, key) for hit in results.hits if getattr(hit, key) is not None])

        return function

    conn.create_function("kb_search", -1, sql_function("document", "document_id"))
    conn.create_function("kb_search_incidents", -1, sql_function("incident", "incident_id"))


class TimeBudget:
    """Time spent in search calls that share one SQL connection, refilled only while idle.

    SQLite checks Datasette's time limit between instructions, never inside
    a function call, so a query calling kb_search() 200 times would run on
    for seconds. The budget is drained by the time each call takes and
    refilled by the time between calls; an empty budget refuses the call.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.left = seconds
        self.last = time.monotonic()

    def spend(self, call):
        now = time.monotonic()
        self.left = min(self.seconds, self.left + (now - self.last))
        if self.left <= 0:
            self.last = now
            raise InvalidInput(f"kb search time limit of {self.seconds * 1000:.0f} ms for one SQL query is spent: "
                          "call kb_search() for fewer rows")
        try:
            return call()
        finally:
            self.last = time.monotonic()
            self.left -= self.last - now
