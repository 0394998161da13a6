"""A real HTTP server on 127.0.0.1 whose pages can misbehave on purpose.

    site.page("/a.html", b"<html>...", etag='"v1"')   # serves 304 to a matching If-None-Match
    site.route("/slow", stall(2.0))                   # any handler(request) -> None
    site.url("/a.html"); site.requests                # every request seen: (path, headers)

Tests get one through the `site` fixture in conftest.py.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer



class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # connections dropped on purpose are not errors here


class Site:
    def __init__(self):
        self.routes = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def route(self, path: str, handler) -> None:
        self.routes[path] = handler

    def page(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8",
             etag: str | None = None, status: int = 200, headers: dict | None = None) -> None:
        self.route(path, serve(body, content_type, etag, status, headers))

    def seen(self, path: str) -> list[dict[str, str]]:
        """Headers of every request for `path` (query string included in the path)."""
        return [h for p, h in self.requests if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(site: Site):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            handler = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
            if handler is None:
                self.send_error(404)
                return
            handler(self)

        def log_message(self, *args):
            pass

    return Handler


# --- behaviours ---------------------------------------------------------------------


def serve(body: bytes, content_type: str = "text/html; charset=utf-8", etag: str | None = None,
          status: int = 200, headers: dict | None = None):
    """A well-behaved page (with conditional GET when it has an ETag)."""
    def handler(req):
        if etag and req.headers.get("If-None-Match") == etag:
            req.send_response(304)
            req.send_header("ETag", etag)
            req.end_headers()
            return
        req.send_response(status)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(body)))
        if etag:
            req.send_header("ETag", etag)
        for key, value in (headers or {}).items():
            req.send_header(key, value)
        req.end_headers()
        req.wfile.write(body)
    return handler


def failing(times: int, status: int, then=None, retry_after: str | None = None):
    """`status` for the first `times` requests (forever if then is None), then `then`."""
    count = {"n": 0}

    def handler(req):
        count["n"] += 1
        if then is not None and count["n"] > times:
            return then(req)
        req.send_response(status)
        if retry_after is not None:
            req.send_header("Retry-After", retry_after)
        req.send_header("Content-Length", "0")
        req.end_headers()
    return handler


def stall(seconds: float):
    """Accept the request, then send nothing for `seconds`."""
    def handler(req):
        time.sleep(seconds)
    return handler


def drop(req):
    """Close the connection without a response."""
    req.close_connection = True
    req.connection.shutdown(socket.SHUT_RDWR)


def truncated(body: bytes):
    """Promise more bytes (Content-Length) than are sent, then close."""
    def handler(req):
        req.send_response(200)
        req.send_header("Content-Type", "text/html; charset=utf-8")
        req.send_header("Content-Length", str(len(body) * 10))
        req.end_headers()
        req.wfile.write(body)
        req.wfile.flush()
        req.connection.shutdown(socket.SHUT_RDWR)
    return handler


def huge(size: int, declare_length: bool = True):
    """A body of `size` bytes, streamed (with or without Content-Length)."""
    chunk = b"<p>" + b"x" * 65_530 + b"</p>"

    def handler(req):
        req.send_response(200)
        req.send_header("Content-Type", "text/html")
        if declare_length:
            req.send_header("Content-Length", str(size))
        req.end_headers()
        sent = 0
        try:
            while sent < size:
                req.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    return handler


def redirect(location: str, status: int = 302):
    def handler(req):
        req.send_response(status)
        req.send_header("Location", location)
        req.send_header("Content-Length", "0")
        req.end_headers()
    return handler


def drip(interval: float, total: int = 10_000):
    """Send the headers, then one byte every `interval` seconds (a slow-loris server)."""
    def handler(req):
        req.send_response(200)
        req.send_header("Content-Type", "text/html; charset=utf-8")
        req.end_headers()
        try:
            for _ in range(total):
                req.wfile.write(b"x")
                req.wfile.flush()
                time.sleep(interval)
        except OSError:
            pass
    return handler
