"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1, an ephemeral port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Hook:
    """A webhook receiver on 127.0.0.1: its URL and every JSON body POSTed to it."""

    url: str
    events: list[dict[str, Any]] = field(default_factory=list)


def serve() -> Iterator[Hook]:
    """Run the receiver for as long as the caller holds it."""
    hook = Hook(url="")

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
            length = min(int(self.headers.get("Content-Length", "0")), 16 * 1024 * 1024)
            hook.events.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
