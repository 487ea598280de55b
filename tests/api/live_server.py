"""A real uvicorn server on a free loopback port, in a thread of the test process, that a test
can stop mid-run; and an ASGI wrapper that records requests and can answer 503 first."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class LiveServer:
    def __init__(self, app) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


class Recorder:
    """Wraps an ASGI app: counts POST /graphql requests and the client ports they came from;
    answers 503 to the first `fail_first` of them."""

    def __init__(self, app, fail_first: int = 0) -> None:
        self.app = app
        self.fail_first = fail_first
        self.posts = 0
        self.ports: set[int] = set()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.posts += 1
            self.ports.add(scope["client"][1])
            if self.posts <= self.fail_first:
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"busy"})
                return
        await self.app(scope, receive, send)
