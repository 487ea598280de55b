"""Static files under content-hashed addresses (/static/console.3f9c1a2b7d.css), served with
far-future caching: a changed file gets a new address, so browsers never see a stale one.
Read once at start-up; text files are also kept gzipped for browsers that accept it."""

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


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str


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
            if media.startswith("text/") or media in ("application/javascript", "image/svg+xml"):
                media += "; charset=utf-8"
                packed = gzip.compress(body, 6) if len(body) > 1024 else None
            else:
                packed = None
            self.urls[name] = url
            self.files[url] = Asset(body, packed, media)

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
        if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            headers["content-encoding"] = "gzip"
            return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)
