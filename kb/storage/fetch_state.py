"""The fetch_state table: the validators (ETag / Last-Modified) of pages whose content was stored,
for conditional GET on the next run."""

from __future__ import annotations


def validators(db, url: str) -> tuple[str | None, str | None] | None:
    """(etag, last_modified) stored for `url`, or None."""
    row = db.execute("SELECT etag, last_modified FROM fetch_state WHERE url = ?", [url]).fetchone()
    return (row[0], row[1]) if row and (row[0] or row[1]) else None


def save(db, url: str, response) -> None:
    """Remember a page's validators once what it said is stored (a 304 keeps the old ones)."""
    if response.not_modified:
        db.execute("UPDATE fetch_state SET status = 304, fetched_at = ? WHERE url = ?",
                   [response.fetched_at, url])
        return
    db.execute(
        "INSERT INTO fetch_state (url, etag, last_modified, status, sha256, raw_path, fetched_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
        "last_modified = excluded.last_modified, status = excluded.status, sha256 = excluded.sha256, "
        "raw_path = excluded.raw_path, fetched_at = excluded.fetched_at",
        [url, response.etag, response.last_modified, response.status, response.sha256,
         response.raw_path, response.fetched_at],
    )


def forget(db, url: str) -> None:
    """Drop a page's validators, so the next run fetches it in full."""
    db.execute("DELETE FROM fetch_state WHERE url = ?", [url])
