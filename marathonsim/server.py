"""The HTTP server: parse, record, apply faults, authenticate, route, answer."""
from __future__ import annotations

import json
import socket
import ssl
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import api, control
from .auth import DCOS_LOGIN_PATH
from .clock import iso
from .context import Context
from .replies import ApiError, Reply

HIDDEN_HEADERS = ("authorization", "cookie")
EVENTS_PATH = "/v2/events"
STREAM_POLL_SECONDS = 0.05  # how often a stream looks at the clock (tasks move with time)


class SimServer(ThreadingHTTPServer):
    daemon_threads = True  # a delayed answer must not hold up stop()
    allow_reuse_address = True
    request_queue_size = 128  # socketserver's 5 resets connections when a client deploys 50 apps at once

    def __init__(self, address: tuple[str, int], ctx: Context) -> None:
        self.ctx = ctx
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout, a failed TLS check) is normal in client tests.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Jetty; every answer has a Content-Length
    server_version = "marathonsim"
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    server: SimServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle + delayed ACK add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()  # here, not in the accept loop (see Simulator)

    def do_GET(self) -> None:
        self._handle()

    do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.ctx.verbose:
            super().log_message(format, *args)

    def _handle(self) -> None:
        ctx = self.server.ctx
        url = urlsplit(self.path)
        path = unquote(url.path)
        raw = self._read_body()
        if raw is None:  # the client went away before its whole body: Jetty ends the request, Marathon sees nothing
            self.close_connection = True
            return
        if path.startswith("/_sim/"):
            self._send(control.handle(ctx, self.command, path, raw))
            return
        mpath = ctx.marathon_path(path)
        verdict = ctx.faults.decide(self.command, mpath)
        self._record(path, url.query, raw, verdict)
        if verdict.delay:
            time.sleep(verdict.delay)
        if not verdict.after and (verdict.drop or verdict.status):
            self._fault(verdict.drop, verdict.status)
            return
        req = api.Request(self.command, mpath, parse_qs(url.query, keep_blank_values=True), raw,
                          self.headers.get("Accept", ""), {})
        if req.method == "GET" and req.path.rstrip("/") == EVENTS_PATH:
            self._events(ctx, req)
            return
        reply = self._answer(ctx, req)
        if verdict.drop or verdict.status:
            self._fault(verdict.drop, verdict.status)
            return
        self._send(reply)

    def _answer(self, ctx: Context, req: api.Request) -> Reply:
        try:
            if ctx.dcos_auth is not None and req.path == DCOS_LOGIN_PATH:
                return ctx.dcos_auth.login(_json_or_none(req.raw))
            headers = {name.lower(): value for name, value in self.headers.items()}
            challenge = ctx.auth.challenge(req.path, headers)
            if challenge is not None:
                return challenge  # from the front end (Jetty, Admin Router), not Marathon
            reply = api.route(ctx, req)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body, exc.headers)
        except Exception as exc:  # a simulator bug: answer like Marathon, and say so on stderr
            traceback.print_exc(file=sys.stderr)
            reply = Reply(500, {"message": f"marathonsim internal error: {exc}"})
        reply.headers.setdefault("X-Marathon-Leader", f"{ctx.scheme}://{ctx.leader}")
        return reply

    def _events(self, ctx: Context, req: api.Request) -> None:
        """GET /v2/events: server-sent events until the client goes or the server stops.
        Jetty's EventSourceServlet streams only for `Accept: text/event-stream`; Marathon's
        HttpEventStreamServlet filters by `event_type` (repeatable)."""
        headers = {name.lower(): value for name, value in self.headers.items()}
        challenge = ctx.auth.challenge(req.path, headers)
        if challenge is not None:
            self._send(challenge)
            return
        if "text/event-stream" not in req.accept:
            self._send(Reply(405, {"message": "HTTP method GET is not supported by this URL "
                                              "(send Accept: text/event-stream)"}))
            return
        wanted = set(req.query.get("event_type", []))
        log = ctx.store.events
        cursor = log.cursor
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")  # each frame reaches the client at once
        self.send_header("Connection", "close")
        self.send_header("X-Marathon-Leader", f"{ctx.scheme}://{ctx.leader}")
        self.end_headers()
        self.close_connection = True
        attached = {"remoteAddress": self.client_address[0], "eventType": "event_stream_attached",
                    "timestamp": iso(ctx.store.clock())}
        try:
            self._write_event(attached, wanted)
            while not log.closed:
                ctx.store.poll()  # time moves tasks: their events exist once looked at
                found, cursor = log.since(cursor)
                for event in found:
                    self._write_event(event, wanted)
                log.wait(cursor, STREAM_POLL_SECONDS)
            self.wfile.write(b"0\r\n\r\n")  # the server stops: the stream ends
            self.wfile.flush()
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            pass  # the client went away

    def _write_event(self, event: dict[str, Any], wanted: set[str]) -> None:
        if wanted and event["eventType"] not in wanted:
            return
        frame = f"event: {event['eventType']}\ndata: {json.dumps(event)}\n\n".encode()
        self.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
        self.wfile.flush()

    def _read_body(self) -> bytes | None:
        """The request's body; None when the connection ended before the length its head announced."""
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0:
            return b""
        raw = self.rfile.read(length)
        return raw if len(raw) == length else None

    def _record(self, path: str, query: str, raw: bytes, verdict: Any) -> None:
        body = _json_or_none(raw)
        if isinstance(body, dict) and "password" in body:
            body = {**body, "password": "<hidden>"}  # DC/OS login: never keep a secret
        self.server.ctx.recorder.add({
            "time": self.server.ctx.store.clock(), "method": self.command, "path": path,
            "query": parse_qs(query, keep_blank_values=True), "json": body,
            "body": None if body is not None or not raw else raw.decode("utf-8", "replace"),
            "headers": {k: v for k, v in self.headers.items()
                        if k.lower() not in HIDDEN_HEADERS},
            "fault": "drop" if verdict.drop else verdict.status})

    def _fault(self, drop: bool, status: int | None) -> None:
        if drop:  # no answer at all: the client sees the connection closed
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        phrase = self.responses.get(status or 500, ("Error",))[0]
        self._send(Reply(status or 500, {"message": f"{phrase} (simulated fault)"}))

    def _send(self, reply: Reply) -> None:
        if reply.body is None:
            data, content_type = b"", None
        elif isinstance(reply.body, str):
            data, content_type = reply.body.encode(), reply.content_type
        else:
            data, content_type = json.dumps(reply.body).encode(), "application/json"
        self.send_response(reply.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None
