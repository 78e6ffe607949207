"""A real HTTP server on 127.0.0.1 for the download tests, serving project-made files.

It speaks enough HTTP/1.1 for a download client: GET with `Range: bytes=N-` (206 with
Content-Range), `If-Range` against an ETag (a changed file answers 200 with all of it), 404 for
unknown paths, and it counts every request. Failure modes are switched per path:
`cut[path] = (times, nbytes)` closes the connection after `nbytes` of the body for the next
`times` responses; `delay` slows every response (to make two clients overlap).
"""
from __future__ import annotations

import hashlib
import http.server
import threading
import time


class ReleaseServer:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []   # (path, Range header)
        self.cut: dict[str, tuple[int, int]] = {}
        self.delay = 0.0
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):   # keep pytest output clean
                pass

            def do_GET(self):
                with server._lock:
                    server.requests.append((self.path, self.headers.get("Range")))
                    data = server.files.get(self.path)
                    times, nbytes = server.cut.get(self.path, (0, 0))
                    if times:
                        server.cut[self.path] = (times - 1, nbytes)
                time.sleep(server.delay)
                if data is None:
                    body = b"not found"
                    self.send_response(404)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
                start = 0
                wanted = self.headers.get("Range")
                if_range = self.headers.get("If-Range")
                if wanted and wanted.startswith("bytes=") and (if_range in (None, etag)):
                    start = int(wanted[len("bytes="):].split("-")[0])
                if start >= len(data) and start:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = data[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if times:   # send part of the body, then hang up
                    self.wfile.write(body[:nbytes])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if path is None or p == path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
