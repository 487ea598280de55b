"""The transport's floor: a bare ASGI app that reads the whole request body and answers a
pre-computed response (the bytes in the file named by BENCH_FLOOR_BODY, made the same size as
the catalog's answer to the same load). Run under the same uvicorn settings as the catalog:

    BENCH_FLOOR_BODY=body.json uvicorn --factory bench.floor:app_factory

Whatever the catalog spends beyond this is the cost of its own work: auth, parsing, GraphQL,
deciding and serializing.
"""

from __future__ import annotations

import os
from pathlib import Path


def make_app(body: bytes):
    start = {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}
    answer = {"type": "http.response.body", "body": body}

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        more = True
        while more:  # read the request as the catalog must
            message = await receive()
            more = message.get("more_body", False)
        await send(start)
        await send(answer)

    return app


def app_factory():
    path = os.environ.get("BENCH_FLOOR_BODY")
    return make_app(Path(path).read_bytes() if path else b'{"status":"ok"}')
