"""The load generator: wrk (Debian package `wrk`) with a Lua script that sends, on each
request, a body picked at random from a pool of pre-generated distinct bodies (one JSON
document per line). If wrk is not installed, a Python generator (bench/pyload.py: several
processes of asyncio keep-alive connections) stands in; the table says which ran.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench import pyload

LUA = r"""
-- bench/load.py: POST a random body from a pool file (one body per line) per request.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

local reqs, n = {}, 0
function init(args)
  local pool, seed, token = args[1], tonumber(args[2]), args[3]
  math.randomseed(seed + (tid or 0) * 7919)
  local headers = {["Content-Type"] = "application/json"}
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  for line in io.lines(pool) do
    n = n + 1
    reqs[n] = wrk.format("POST", wrk.path, headers, line)
  end
end

function request()
  return reqs[math.random(n)]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
"""


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int  # connect/read/write/timeouts and non-2xx answers
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    tool: str
    cpu_s: float = float("nan")  # CPU the server used during the run (all its processes)
    cpu_by_pid: dict[int, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / self.requests * 1e6 if self.requests else float("nan")


def write_pool(path: Path, bodies: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(bodies) + b"\n")
    return path


def choose_tool(wanted: str) -> str:
    if wanted in ("auto", "wrk") and shutil.which("wrk"):
        return "wrk"
    if wanted == "wrk":
        raise SystemExit("wrk is not installed: apt-get install -y wrk, or --loadgen python")
    return "python"


def run(tool: str, url: str, pool: Path, *, token: str | None, connections: int,
        seconds: int, seed: int = 1, threads: int = 1) -> LoadResult:
    """Load url + /graphql for `seconds` with `connections` keep-alive connections."""
    if tool == "wrk":
        return run_wrk(url, pool, token=token, connections=connections, seconds=seconds,
                       seed=seed, threads=threads)
    return pyload.run(url, pool, token=token, connections=connections, seconds=seconds,
                      seed=seed)


def run_wrk(url: str, pool: Path, *, token: str | None, connections: int, seconds: int,
            seed: int, threads: int) -> LoadResult:
    script = pool.parent / "bench_pool.lua"
    if not script.exists():
        script.write_text(LUA)
    threads = max(1, min(threads, connections))
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, seconds)}s",
           "--timeout", "30s", "-s", str(script), f"{url}/graphql", "--", str(pool),
           str(seed), token or ""]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    r = json.loads(line.split(" ", 1)[1])
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return LoadResult(requests=r["requests"], seconds=r["duration_us"] / 1e6, errors=errors,
                      p50_ms=r["p50_us"] / 1000, p90_ms=r["p90_us"] / 1000,
                      p99_ms=r["p99_us"] / 1000, mean_ms=r["mean_us"] / 1000, tool="wrk")
