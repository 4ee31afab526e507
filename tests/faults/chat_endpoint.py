"""A chat service's incoming webhook, as a process a fault test starts, breaks and restarts:

    python -m tests.faults.chat_endpoint PORT MODE LOG [REDIRECT_TO]

MODE ok: answers 200 and appends each JSON body (one line) to LOG. trickle: answers one byte of its
status line every TRICKLE_SECONDS and never finishes (a chat service having a slow minute).
redirect: answers 307 to REDIRECT_TO. Every request is noted in LOG as {"mode": …, "body": …}.
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRICKLE_SECONDS = 2.0


def main(port: int, mode: str, log_path: str, redirect_to: str = "") -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with open(log_path, "a") as log:
                log.write(json.dumps({"mode": mode, "body": body, "key": self.headers.get("Idempotency-Key")}) + "\n")
            if mode == "trickle":
                return self._trickle()
            self.send_response(307 if mode == "redirect" else 200)
            if mode == "redirect":
                self.send_header("Location", redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _trickle(self):
            try:
                for byte in b"HTTP/1.1 200 OK":
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(TRICKLE_SECONDS)
            except OSError:  # the sender gave up: its deadline
                pass
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], *sys.argv[4:])
