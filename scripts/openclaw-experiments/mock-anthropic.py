#!/usr/bin/env python3
"""A tiny Anthropic-Messages-compatible endpoint on 127.0.0.1, for trying
OpenClaw offline. Logs one JSON line per request (method, path, headers, body
size, whether it asked for streaming) to the file given as argv[1]; answers
POST .../v1/messages with a fixed text reply, as JSON or as SSE when the
request says "stream": true; answers anything else 404 (logged too).
Prints the port it listens on, then serves until killed.

    python3 mock-anthropic.py LOG [PORT] [REPLY]
"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
REPLY = sys.argv[3] if len(sys.argv) > 3 else "pong"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _record(self, body):
        req = {}
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            pass
        entry = {
            "t": round(time.time(), 3),
            "method": self.command,
            "path": self.path,
            "headers": dict(self.headers.items()),
            "body_bytes": len(body),
            "stream": bool(isinstance(req, dict) and req.get("stream")),
            "model": req.get("model") if isinstance(req, dict) else None,
        }
        with open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")
        return req if isinstance(req, dict) else {}

    def _send(self, code, ctype, data):
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._record(b"")
        self._send(404, "application/json", b'{"type":"error","error":{"type":"not_found_error","message":"no"}}')

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        req = self._record(self.rfile.read(n))
        if not self.path.split("?")[0].endswith("/v1/messages"):
            return self.do_GET()
        model = req.get("model", "MiniMax-M3")
        msg = {
            "id": "msg_mock_1", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": REPLY}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 1},
        }
        if not req.get("stream"):
            return self._send(200, "application/json", json.dumps(msg).encode())
        start = dict(msg, content=[], stop_reason=None, usage={"input_tokens": 10, "output_tokens": 0})
        events = [
            ("message_start", {"type": "message_start", "message": start}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": REPLY}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 1}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        data = "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events).encode()
        self._send(200, "text/event-stream", data)


srv = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
