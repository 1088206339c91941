"""`retention-report serve`: the published site over HTTP on the loopback address, for viewing it locally.

Opened from disk (`file://`) a browser refuses ES modules such as Quarto's own scripts (search, the contents
highlighting); over http they load. The server reads the site folder by its path on every request, so a site
swapped in by a new publish is served at once, and `Cache-Control: no-cache` makes the browser ask again
rather than show the previous publish from its cache.
"""

from __future__ import annotations

import functools
import sys
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, TextIO

HOST = "127.0.0.1"  # loopback only: the site is for this machine's browser; hosting it is a web server's job


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files of the site; no folder listings (as a static host), one short line per request."""

    log_to: TextIO | None = sys.stderr
    # A browser runs a module script only when served with a JavaScript type; Python's table (and the system's
    # mime.types it reads) may not know .mjs.
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                      ".mjs": "text/javascript"}

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def list_directory(self, path):  # a folder without index.html: not found, as on a static host
        self.send_error(404, "Not found")
        return None

    def log_message(self, format: str, *args) -> None:
        if self.log_to is not None:
            self.log_to.write(f"{time.strftime('%H:%M:%S')} {format % args}\n")
            self.log_to.flush()

    def log_error(self, format: str, *args) -> None:  # the request's own line already says 404
        pass

    def log_request(self, code="-", size="-") -> None:
        code = getattr(code, "value", code)
        self.log_message("%s %s %s", self.command, self.path, code)


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True  # Ctrl+C ends the process without waiting for a browser's open connections

    def handle_error(self, request, client_address) -> None:
        # A browser that closes a connection mid-response is routine, not worth a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def make_server(site: Path, port: int = 0, log_to: TextIO | None = sys.stderr) -> SiteServer:
    """A server bound to 127.0.0.1:`port` (0: a free port, read it from `server_address`) serving `site`."""
    handler = type("Handler", (SiteHandler,), {"log_to": log_to})
    # directory= as a string path, not an open folder: each request looks the path up anew (a new publish).
    return SiteServer((HOST, port), functools.partial(handler, directory=str(Path(site).absolute())))


def serve(site: Path, port: int = 8000, on_ready: Callable[[str], None] | None = None,
          log_to: TextIO | None = sys.stderr) -> None:
    """Serve `site` until interrupted (KeyboardInterrupt propagates); `on_ready(url)` once it listens.

    Ctrl+C (SIGINT) interrupts it even when it was started as a background job, whose shell starts it with SIGINT
    ignored (Python then raises no KeyboardInterrupt): a scheduler or a test stopping it with SIGINT is obeyed."""
    import faulthandler
    import signal
    import threading

    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 PID` prints every thread's stack: how a hung server is diagnosed
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    with make_server(site, port, log_to) as server:
        host, bound = server.server_address[:2]
        if on_ready:
            on_ready(f"http://{host}:{bound}/")
        server.serve_forever()
