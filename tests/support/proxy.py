"""A small fault-injecting HTTP proxy between a station and its hub.

Each request is either forwarded, dropped before it reaches the hub
("request lost"), or forwarded and its answer dropped ("answer lost": the
hub has committed, the station never hears). The station sees a closed
connection either way, as it would on a village link.
"""

import http.client
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class FaultyProxy:
    def __init__(self, target: str, drop_request: float = 0.0, drop_answer: float = 0.0, seed: int = 0):
        self.target = urlsplit(target)
        self.drop_request = drop_request
        self.drop_answer = drop_answer
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {"forwarded": 0, "dropped_request": 0, "dropped_answer": 0}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                proxy.handle(self)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _roll(self, rate: float) -> bool:
        with self.lock:
            return self.rng.random() < rate

    def _count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        if self._roll(self.drop_request):
            self._count("dropped_request")
            handler.close_connection = True
            handler.connection.close()
            return
        conn = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=120)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(handler.command, handler.path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        conn.close()
        if self._roll(self.drop_answer):
            self._count("dropped_answer")
            handler.close_connection = True
            handler.connection.close()
            return
        self._count("forwarded")
        handler.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
