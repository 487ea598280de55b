"""Static files under content-hashed addresses (/static/console.3f9c1a2b7d.css), served with
far-future caching: a changed file gets a new address, so browsers never see a stale one.
Read and hashed at start-up; text files are gzipped on first request (not at start-up: a
worker that starts slowly is killed by uvicorn's health check) and kept."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

STATIC = Path(__file__).resolve().parent / "static"
FOREVER = "public, max-age=31536000, immutable"
VENDOR = ("vendor/graphiql.min.js", "vendor/graphiql.min.css",
          "vendor/react.production.min.js", "vendor/react-dom.production.min.js")


@dataclass(slots=True)
class Asset:
    body: bytes
    media_type: str
    packable: bool  # text worth compressing
    gzipped: bytes | None = None


class Assets:
    def __init__(self, root: Path = STATIC) -> None:
        self.urls: dict[str, str] = {}  # logical name -> address
        self.files: dict[str, Asset] = {}  # address -> contents
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            name = path.relative_to(root).as_posix()
            if path.name.startswith("."):
                continue
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:12]
            stem, dot, ext = name.rpartition(".")
            url = f"/static/{stem}.{digest}.{ext}" if dot else f"/static/{name}.{digest}"
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            text = media.startswith("text/") or media in ("application/javascript",
                                                          "image/svg+xml")
            if text:
                media += "; charset=utf-8"
            self.urls[name] = url
            self.files[url] = Asset(body, media, text and len(body) > 1024)

    def url(self, name: str) -> str:
        return self.urls[name]

    def has(self, *names: str) -> bool:
        return all(n in self.urls for n in names)

    async def serve(self, request: Request) -> Response:
        asset = self.files.get(request.url.path)
        if asset is None:
            return PlainTextResponse("no such file (static addresses change with their "
                                     "contents: reload the page)", status_code=404)
        headers = {"cache-control": FOREVER, "vary": "accept-encoding",
                   "x-content-type-options": "nosniff"}
        if asset.packable and "gzip" in request.headers.get("accept-encoding", ""):
            if asset.gzipped is None:  # two first requests may both compress: harmless
                asset.gzipped = gzip.compress(asset.body, 6)
            headers["content-encoding"] = "gzip"
            return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)
