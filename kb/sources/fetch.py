"""The one HTTP layer: polite to servers, bounded and safe against hostile ones.

`Fetcher.get(url)` checks the target (kb.sources.addresses: http(s) only, no loopback/private/
link-local/reserved addresses, also embedded in IPv6 forms, unless allowed)
and connects to the very address it checked (no second DNS answer can
rebind it), honours robots.txt, waits its turn per host, sends conditional
headers when given validators, follows redirects by hand (each hop checked),
retries transient failures with exponential backoff that honours
Retry-After, streams the body under a size cap, all within one total
deadline per URL (retries included), checks the content type, and keeps the
raw bytes gzip-compressed under the raw folder, named by their sha256.

Every failure is a `FetchError` with a short reason; a `Response` is only ever
returned whole. kb.storage.fetch_state keeps the validators (ETag /
Last-Modified) of pages whose content was stored.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from ..storage.sql import now_iso
from ..text.charset import decode_html
from . import addresses

PROJECT_URL = "https://github.com/insider-incident-kb"
USER_AGENT = f"InsiderIncidentKB/0.1 (+{PROJECT_URL})"
ROBOTS_AGENT = "InsiderIncidentKB"

HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = ("application/xml", "text/xml", "application/akn+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml") + XML_TYPES
JSON_TYPES = ("application/json",)

DEFAULT_HOST_DELAYS = {
    "www.justice.gov": 2.0,
    "www.courtlistener.com": 2.0,
    "caselaw.nationalarchives.gov.uk": 1.0,
    "mp.weixin.qq.com": 5.0,
}

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
ROBOTS_MAX_BYTES = 512 * 1024


class FetchError(Exception):
    """A page could not be fetched; `reason` says why in a few words."""

    def __init__(self, url: str, reason: str, status: int | None = None):
        super().__init__(f"{url}: {reason}")
        self.url, self.reason, self.status = url, reason, status


class _Retryable(FetchError):
    """A transient failure worth another try (after `wait` seconds, if given)."""

    def __init__(self, url: str, reason: str, status: int | None = None, wait: float | None = None):
        super().__init__(url, reason, status)
        self.wait = wait


@dataclass
class Response:
    """A complete response: final URL, status, headers (lower-case keys), body, provenance."""

    url: str
    requested_url: str
    status: int
    headers: dict[str, str]
    content: bytes
    fetched_at: str
    sha256: str | None = None
    raw_path: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    def text(self) -> str:
        """The body as text, charset decided from the bytes as well as the headers."""
        return decode_html(self.content, self.content_type)[0]

    def json(self):
        return json.loads(self.content)

    def provenance(self) -> dict[str, str | None]:
        """The DocumentRecord provenance fields for this response."""
        return {
            "fetched_at": self.fetched_at,
            "http_etag": self.etag,
            "http_last_modified": self.last_modified,
            "raw_sha256": self.sha256,
            "raw_path": self.raw_path,
        }


@dataclass
class FetchSettings:
    """Limits and manners; the defaults suit the open web, tests shrink them."""

    user_agent: str = USER_AGENT
    min_delay: float = 1.0
    host_delays: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_HOST_DELAYS))
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0  # per URL, all tries, redirects and robots.txt included
    max_bytes: int = 20 * 1024 * 1024
    retries: int = 3
    backoff: float = 2.0
    max_retry_wait: float = 120.0
    max_redirects: int = 5
    max_crawl_delay: float = 60.0
    respect_robots: bool = True
    allow: list[str] = field(default_factory=list)


class Fetcher:
    """Fetches pages politely and safely; keeps raw bytes under `raw_dir` when given."""

    def __init__(self, settings: FetchSettings | None = None, raw_dir: Path | None = None):
        self.settings = settings or FetchSettings()
        self.raw_dir = Path(raw_dir) if raw_dir else None
        self._allowed = addresses.networks(self.settings.allow)
        self._robots: dict[str, Protego | FetchError | None] = {}
        self._delays = dict(self.settings.host_delays)
        self._last_request: dict[str, float] = {}
        self._pinned: dict[str, str] = {}  # host -> the address check_target approved
        self._deadline = 0.0
        s = self.settings
        self._client = httpx.Client(
            headers={"User-Agent": s.user_agent},
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
            follow_redirects=False,
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get(self, url: str, accept: tuple[str, ...] | None = None,
            validators: tuple[str | None, str | None] | None = None,
            headers: dict[str, str] | None = None) -> Response:
        """GET `url` with retries; `accept` lists the content types wanted (None: any).

        `validators` = (etag, last_modified) from an earlier fetch makes the
        request conditional; a 304 comes back as a Response with no body.
        """
        s = self.settings
        extra = dict(headers or {})
        if validators:
            etag, modified = validators
            if etag:
                extra["If-None-Match"] = etag
            if modified:
                extra["If-Modified-Since"] = modified
        self._deadline = time.monotonic() + s.total_timeout
        for attempt in range(s.retries + 1):
            try:
                response = self._follow(url, accept, extra)
            except _Retryable as exc:
                if attempt == s.retries:
                    raise FetchError(url, f"{exc.reason} (gave up after {attempt + 1} tries)", exc.status) from None
                wait = s.backoff * 2 ** attempt if exc.wait is None else exc.wait
                if wait > s.max_retry_wait:
                    raise FetchError(url, f"{exc.reason}; server asks to wait {wait:.0f}s, over the "
                                          f"{s.max_retry_wait:.0f}s cap", exc.status) from None
                if time.monotonic() + wait >= self._deadline:
                    raise FetchError(url, f"{exc.reason}; no complete answer within the "
                                          f"{s.total_timeout:g}s deadline ({attempt + 1} tries)", exc.status) from None
                time.sleep(wait)
                continue
            if not response.not_modified:
                response.sha256 = hashlib.sha256(response.content).hexdigest()
                response.raw_path = self._keep_raw(response.content, response.sha256)
            return response
        raise AssertionError("unreachable")

    # --- one attempt: redirects, checks, body --------------------------------

    def _follow(self, url: str, accept: tuple[str, ...] | None, headers: dict[str, str],
                robots: bool = True, cap: int | None = None) -> Response:
        """One attempt: follow redirects by hand, checking every hop."""
        current, seen = url, set()
        for _ in range(self.settings.max_redirects + 1):
            if current in seen:
                raise FetchError(url, f"redirect loop at {current}")
            seen.add(current)
            self.check_target(current)
            if robots and self.settings.respect_robots and not self._robots_allow(current):
                raise FetchError(url, f"disallowed by robots.txt: {current}")
            response = self._request(url, current, accept, headers, cap or self.settings.max_bytes)
            if isinstance(response, Response):
                return response
            current = response
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects")

    def _request(self, url: str, current: str, accept, headers, cap: int) -> Response | str:
        """One request: a Response, or the next URL of a redirect."""
        self._wait_turn(current)
        s = self.settings
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise FetchError(url, f"no complete answer within the {s.total_timeout:g}s deadline")
        target, host, sni = self._pin(current)
        try:
            with self._client.stream("GET", target, headers={**headers, "Host": host},
                                     extensions={"sni_hostname": sni},
                                     timeout=httpx.Timeout(min(s.read_timeout, left),
                                                           connect=min(s.connect_timeout, left))) as r:
                status = r.status_code
                if status in REDIRECT_STATUSES and r.headers.get("location"):
                    return urljoin(current, r.headers["location"].strip())
                if status in RETRY_STATUSES:
                    raise _Retryable(url, f"HTTP {status}", status, _retry_after(r.headers.get("retry-after")))
                if status == 304:
                    return self._response(url, current, r, b"")
                if status >= 400 or status < 200 or status in REDIRECT_STATUSES:
                    raise FetchError(url, f"HTTP {status}", status)
                _check_type(url, r.headers.get("content-type", ""), accept)
                body = self._read_body(url, r, cap)
                return self._response(url, current, r, body)
        except httpx.TimeoutException as exc:
            raise _Retryable(url, f"timed out ({type(exc).__name__})") from None
        except httpx.DecodingError as exc:
            raise FetchError(url, f"undecodable body: {exc}") from None
        except httpx.InvalidURL as exc:
            raise FetchError(url, f"invalid URL: {exc}") from None
        except httpx.TransportError as exc:
            raise _Retryable(url, f"connection failed: {str(exc) or type(exc).__name__}") from None

    def _read_body(self, url: str, r: httpx.Response, cap: int) -> bytes:
        """The whole body, or FetchError past the size cap or the deadline."""
        declared = r.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(url, f"body of {int(declared)} bytes is over the {cap}-byte cap")
        chunks, size = [], 0
        for chunk in r.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchError(url, f"body over the {cap}-byte cap")
            if time.monotonic() > self._deadline:
                raise FetchError(url, f"body not complete within the {self.settings.total_timeout:g}s deadline")
            chunks.append(chunk)
        return b"".join(chunks)

    def _pin(self, url: str) -> tuple[str, str, str]:
        """(URL with the checked address in place of the host, Host header, TLS server name)."""
        parts = urlsplit(url)
        address = self._pinned[parts.hostname]
        literal = f"[{address}]" if ":" in address else address
        netloc = literal + (f":{parts.port}" if parts.port else "")
        host = parts.netloc.rpartition("@")[2]
        return parts._replace(netloc=netloc).geturl(), host, parts.hostname

    @staticmethod
    def _response(url: str, current: str, r: httpx.Response, body: bytes) -> Response:
        return Response(url=current, requested_url=url, status=r.status_code,
                        headers={k.lower(): v for k, v in r.headers.items()},
                        content=body, fetched_at=now_iso())

    def _keep_raw(self, body: bytes, sha256: str) -> str | None:
        """Write the raw bytes once, gzip-compressed, atomically; path relative to the db folder."""
        if self.raw_dir is None:
            return None
        path = self.raw_dir / sha256[:2] / f"{sha256}.gz"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(gzip.compress(body, mtime=0))
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return str(path.relative_to(self.raw_dir.parent))

    # --- target checks, robots.txt, politeness -----------------------------------

    def check_target(self, url: str) -> None:
        """Refuse what kb.sources.addresses refuses; pin the host to the address it checked, so the
        connection goes where the check looked."""
        try:
            host, address = addresses.checked(url, self._allowed)
        except addresses.Refused as exc:
            raise FetchError(url, str(exc)) from None
        self._pinned[host] = address

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._load_robots(origin)
        rules = self._robots[origin]
        if isinstance(rules, FetchError):
            raise FetchError(url, f"robots.txt unavailable ({rules.reason}), not crawling")
        return rules is None or rules.can_fetch(url, ROBOTS_AGENT)

    def _load_robots(self, origin: str) -> Protego | FetchError | None:
        """Parsed rules; None (allow all) when there is no robots.txt; the error when unreachable."""
        url = f"{origin}/robots.txt"
        try:
            r = self._follow(url, None, {}, robots=False, cap=ROBOTS_MAX_BYTES)
        except FetchError as exc:
            is_4xx = exc.status is not None and 400 <= exc.status < 500 and exc.status != 429
            return None if is_4xx else exc
        rules = Protego.parse(r.content.decode("utf-8", errors="replace"))
        delay = rules.crawl_delay(ROBOTS_AGENT)
        if delay:
            host = urlsplit(origin).netloc
            current = self._delays.get(host, self.settings.min_delay)
            self._delays[host] = max(current, min(float(delay), self.settings.max_crawl_delay))
        return rules

    def _wait_turn(self, url: str) -> None:
        """Sleep until this host's minimum delay since the last request has passed."""
        host = urlsplit(url).netloc
        delay = self._delays.get(host, self.settings.min_delay)
        last = self._last_request.get(host)
        if last is not None:
            pause = last + delay - time.monotonic()
            if pause > 0:
                time.sleep(pause)
                self._deadline += pause  # waiting our turn is politeness, not the server's slowness
        self._last_request[host] = time.monotonic()


def _check_type(url: str, content_type: str, accept: tuple[str, ...] | None) -> None:
    """FetchError unless the (declared) media type is one of `accept`; a missing type passes."""
    media = content_type.split(";")[0].strip().lower()
    if accept and media and media not in accept and not (media.endswith("+xml") and "application/xml" in accept):
        raise FetchError(url, f"unexpected content type {media!r}")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
